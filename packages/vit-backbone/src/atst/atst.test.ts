import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { readNpy, readTorchCheckpoint } from '@anopatch/checkpoint';
import { createTfParams, initBackend, TfOps } from '@anopatch/runtime';
import { relToMax } from '@anopatch/test-fixtures';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';

import { expectCentralDifferences, expectClipParity, frozenOps } from '../__tests__/harness.js';
import { BackboneConfigError, createBackbone, MissingWeightError, WeightShapeError } from '../backbone.js';
import '../index.js';
import { parseAtstConfig, type AtstFrameBackbone } from './model.js';

/** DESIGN.md: backbone outputs within 1e-3 of max |ref| at every stage. */
const STAGE_TOL = 1e-3;
const STAGES = ['melspec', 'patch_embed', 'embeddings', 'layer0_attention', 'layer_0', 'layer_1', 'final'];
const DIR = fileURLToPath(new URL('../../../../tooling/reference/backbones/atst/', import.meta.url));
const npy = (name: string) => readNpy(readFileSync(`${DIR}${name}.npy`));

function fixtureModel() {
  const ck = readTorchCheckpoint(`${DIR}tiny_atst.pt`);
  const config = JSON.parse(readFileSync(`${DIR}config.json`, 'utf8')) as unknown;
  const backbone = createBackbone('atst', { config }) as AtstFrameBackbone;
  return { backbone, tensors: ck.tensors, ...backbone.loadWeights(ck.tensors, { source: 'tiny_atst.pt' }) };
}

function wave(clip: string): tf.Tensor {
  const a = npy(`${clip}.wave`);
  return tf.tensor(a.data as Float32Array, [1, a.shape[0]!]);
}

afterEach(() => tf.disposeVariables());

describe('ATST-Frame parity with the official forward, mel front end included (tooling/reference/backbones/atst)', () => {
  it('maps the teacher encoder of a Lightning checkpoint; the student and mask_embed are unused', () => {
    const { backbone, weights, unused } = fixtureModel();
    expect(weights.size).toBe(backbone.paramSpecs().length);
    expect(unused).toEqual(['model.student.encoder.pos_embed', 'model.teacher.encoder.mask_embed']);
    expect(backbone.tokensFor(16000)).toBe(25);
    expect(backbone.frontEnd).toBe('waveform');
  });

  it('matches every stage for two clips run alone', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const { backbone, weights } = fixtureModel();
    expectClipParity(backbone, frozenOps(backbone, weights), ['clip_a', 'clip_b'], wave, STAGES, npy, STAGE_TOL);
  });

  it('gives each clip of a padded batch the tokens it gets alone (own reflect padding, dB ceiling, key mask)', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const { backbone, weights } = fixtureModel();
    const ops = new TfOps(createTfParams(backbone.paramSpecs(), { loaded: weights, trainable: false }));
    const a = npy('clip_a.wave');
    const b = npy('clip_b.wave');
    const S = a.shape[0]!;
    const batch = new Float32Array(2 * S).fill(0.9); // loud padding: must change neither the reflection nor the dB ceiling
    batch.set(b.data as Float32Array, 0);
    batch.set(a.data as Float32Array, S);
    const mask = new Float32Array(2 * S);
    mask.fill(1, b.shape[0], S);
    const out = tf.tidy(() => backbone.forward(ops, tf.tensor(batch, [2, S]), { training: false, paddingMask: tf.tensor(mask, [2, S]) }).dataSync());
    const nb = backbone.tokensFor(b.shape[0]!) * 32;
    const alone = tf.tidy(() => backbone.forward(ops, wave('clip_b'), { training: false }).dataSync());
    expect(alone.length).toBe(nb);
    expect(relToMax(out.slice(0, nb), alone)).toBeLessThanOrEqual(1e-5);
    expect(relToMax(out.slice(backbone.tokensFor(S) * 32), npy('clip_a.final').data as Float32Array)).toBeLessThanOrEqual(STAGE_TOL);
  });

  it('passes gradients to every parameter on wasm (also in training mode), matching a central difference', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const { backbone, weights } = fixtureModel();
    const params = createTfParams(backbone.paramSpecs(), { loaded: weights });
    const ops = new TfOps(params);
    const x = wave('clip_b');
    const r = tf.randomNormal([1, backbone.tokensFor(10240), 32], 0, 1, 'float32', 7);
    const objective = (training: boolean) => tf.sum<tf.Scalar>(tf.mul(backbone.forward(ops, x, { training }), r));
    const { value, grads } = tf.variableGrads(() => objective(false));
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    for (const [name, v] of params) {
      const data = grads[v.name]!.dataSync();
      expect(data.every(Number.isFinite), name).toBe(true);
      expect(data.some((e) => e !== 0), `${name} has an all-zero gradient`).toBe(true);
    }
    expect(Number.isFinite(tf.variableGrads(() => objective(true)).value.dataSync()[0])).toBe(true);
    expectCentralDifferences(params, grads, ['patch_embed.patch_embed.weight', 'pos_embed', 'blocks.1.attn.qkv.weight'], () => objective(false).dataSync()[0]!);
  });
});

describe('ATST-Frame contracts', () => {
  it('defaults to ATST-Frame base: 768-d, 12 blocks, 250 positions, 85.4M parameters', () => {
    const b = createBackbone('atst') as AtstFrameBackbone;
    expect(b.tokenDim).toBe(768);
    expect(b.tokensFor(160000)).toBe(250);
    const D = 768;
    // 12 blocks x (qkv 3D^2, proj D^2 + D, norms 4D, fc1 4D^2 + 4D, fc2 4D^2 + D) + patch 256D + D + positions 251D + norm_frame 2D
    expect(b.paramSpecs().reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0)).toBe(12 * (12 * D * D + 10 * D) + 256 * D + D + 251 * D + 2 * D);
  });

  it('names a missing or mis-shaped tensor; rejects bad cfgs', () => {
    const { backbone, tensors } = fixtureModel();
    const missing = new Map(tensors);
    missing.delete('model.teacher.encoder.norm_frame.bias');
    expect(() => backbone.loadWeights(missing, { source: 'a.ckpt' })).toThrow(MissingWeightError);
    expect(() => backbone.loadWeights(missing, { source: 'a.ckpt' })).toThrow("a.ckpt: the checkpoint has no tensor 'model.teacher.encoder.norm_frame.bias'");
    const bad = new Map(tensors);
    bad.set('model.teacher.encoder.pos_embed', { dtype: 'float32', shape: [1, 20, 32], data: new Float32Array(640) });
    expect(() => backbone.loadWeights(bad, { source: 'a.ckpt' })).toThrow(WeightShapeError);
    expect(() => parseAtstConfig({ patch_h: 16 }, 'cfg')).toThrow(BackboneConfigError);
    expect(() => parseAtstConfig({ patch_h: 16 }, 'cfg')).toThrow('cfg: patch_h 16 must be 64 (one patch spans every mel bin)');
  });
});
