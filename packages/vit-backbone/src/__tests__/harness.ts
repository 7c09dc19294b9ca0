/** Checks every backbone's parity and gradient tests share (test code only; not built into dist/). */
import { relToMax } from '@anopatch/test-fixtures';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

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
