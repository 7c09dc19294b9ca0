/** Checks every backbone's parity and gradient tests share (test code only; not built into dist/). */
import type { NpyArray } from '@anopatch/checkpoint';
import { createTfParams, TfOps, type TensorData } from '@anopatch/runtime';
import { relToMax } from '@anopatch/test-fixtures';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

import type { Backbone } from '../backbone.js';
import { paddingMaskFromLengths } from '../padding.js';

/** Every tapped stage against its reference, as max |got - ref| / max |ref| (DESIGN.md: <= 1e-3). */
export function expectStages(taps: ReadonlyMap<string, Float32Array>, stages: readonly string[], ref: (stage: string) => ArrayLike<number>, label: string, tol: number): void {
  for (const stage of stages) {
    const got = taps.get(stage);
    expect(got, `${label} ${stage}`).toBeDefined();
    const err = relToMax(got!, ref(stage));
    expect(err, `${label} ${stage}: max abs diff / max |ref| = ${err}`).toBeLessThanOrEqual(tol);
  }
}

/**
 * For each named parameter, the autograd gradient of its largest-magnitude entry agrees with a
 * central difference of `loss` (step 1e-2, within 2 % + 1e-3): gradients are right, not just present.
 */
export function expectCentralDifferences(params: ReadonlyMap<string, tf.Variable>, grads: tf.NamedTensorMap, names: readonly string[], loss: () => number): void {
  for (const name of names) {
    const v = params.get(name)!;
    const gAll = grads[v.name]!.dataSync();
    let index = 0;
    for (let i = 1; i < gAll.length; i++) if (Math.abs(gAll[i]!) > Math.abs(gAll[index]!)) index = i;
    const base = v.dataSync().slice();
    const at = (d: number): number => {
      const arr = base.slice();
      arr[index]! += d;
      v.assign(tf.tensor(arr, v.shape));
      return tf.tidy(loss);
    };
    const eps = 1e-2;
    const fd = (at(eps) - at(-eps)) / (2 * eps);
    v.assign(tf.tensor(base, v.shape));
    const g = gAll[index]!;
    expect(Math.abs(fd - g), `${name}[${index}] fd ${fd} vs grad ${g}`).toBeLessThan(0.02 * Math.abs(g) + 1e-3);
  }
}

/** A fixture folder's .npy reader (float32 / float64 arrays). */
type Npy = (name: string) => NpyArray;
const values = (a: NpyArray): ArrayLike<number> => a.data as Float32Array | Float64Array;

/** The backbone's frozen parameters on TF.js (parity runs need no gradients). */
export function frozenOps(backbone: Backbone, weights: ReadonlyMap<string, TensorData>): TfOps {
  return new TfOps(createTfParams(backbone.paramSpecs(), { loaded: weights, trainable: false }));
}

/**
 * Each clip run alone: every tapped stage against `<clip>.<stage>` and the final tokens against the
 * float64 run `<clip>.final_f64`, all within `tol` of max |ref|.
 */
export function expectClipParity(backbone: Backbone, ops: TfOps, clips: readonly string[], input: (clip: string) => tf.Tensor, stages: readonly string[], npy: Npy, tol: number): void {
  for (const clip of clips) {
    const taps = new Map<string, Float32Array>();
    tf.tidy(() => {
      backbone.forward(ops, input(clip), { training: false, tap: (name, v) => taps.set(name, v.dataSync() as Float32Array) });
    });
    expectStages(taps, stages, (stage) => values(npy(`${clip}.${stage}`)), clip, tol);
    expect(relToMax(taps.get('final')!, values(npy(`${clip}.final_f64`)))).toBeLessThanOrEqual(tol);
  }
}

/**
 * A padded batch of the fixtures' `short` and `long` fbanks (padding filled with a value that must
 * not matter): the short clip gets the tokens it gets alone (1e-5), the long one its reference.
 * Returns the short clip's batched tokens for backbone-specific checks.
 */
export function expectPaddedFbankBatch(backbone: Backbone & { numTokens: number }, ops: TfOps, npy: Npy, tol: number): Float32Array {
  const s = npy('short.fbank');
  const l = npy('long.fbank');
  const frames = l.shape[0]!;
  const batch = new Float32Array(2 * frames * 128).fill(-3);
  batch.set(values(s), 0);
  batch.set(values(l), frames * 128);
  const mask = paddingMaskFromLengths([s.shape[0]!, frames], frames);
  const out = tf.tidy(() => backbone.forward(ops, tf.tensor(batch, [2, frames, 128]), { training: false, paddingMask: tf.tensor(mask.data, mask.shape) }).dataSync() as Float32Array);
  const n = backbone.numTokens * backbone.tokenDim;
  const alone = tf.tidy(() => backbone.forward(ops, tf.tensor(s.data as Float32Array, [1, ...s.shape]), { training: false }).dataSync());
  expect(relToMax(out.slice(0, n), alone)).toBeLessThanOrEqual(1e-5);
  expect(relToMax(out.slice(n), values(npy('long.final')))).toBeLessThanOrEqual(tol);
  return out.slice(0, n);
}
