import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { readNpy, readTorchCheckpoint } from '@anopatch/checkpoint';
import { createTfParams, initBackend, TfOps } from '@anopatch/runtime';
import { relToMax } from '@anopatch/test-fixtures';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';

import { expectCentralDifferences, expectClipParity, expectPaddedFbankBatch, frozenOps } from '../__tests__/harness.js';
import { BackboneConfigError, createBackbone, MissingWeightError, WeightShapeError } from '../backbone.js';
import '../index.js';
import { eatPositions, parseEatConfig, type EatBackbone } from './model.js';

/** DESIGN.md: backbone outputs within 1e-3 of max |ref| at every stage. */
const STAGE_TOL = 1e-3;
const STAGES = ['patch_embed', 'embeddings', 'layer0_attention', 'layer_0', 'layer_1', 'final'];
const DIR = fileURLToPath(new URL('../../../../tooling/reference/backbones/eat/', import.meta.url));
const npy = (name: string) => readNpy(readFileSync(`${DIR}${name}.npy`));

function fixtureModel() {
  const ck = readTorchCheckpoint(`${DIR}tiny_eat.pt`);
  const config = JSON.parse(readFileSync(`${DIR}config.json`, 'utf8')) as unknown;
  const backbone = createBackbone('eat', { config }) as EatBackbone;
  return { backbone, tensors: ck.tensors, ...backbone.loadWeights(ck.tensors, { source: 'tiny_eat.pt' }) };
}

function fbank(clip: string): tf.Tensor {
  const a = npy(`${clip}.fbank`);
  return tf.tensor(a.data as Float32Array, [1, ...a.shape]);
}

afterEach(() => tf.disposeVariables());

describe('EAT parity with the official forward (tooling/reference/backbones/eat)', () => {
  it('maps the fairseq names, checks the stored fixed positions, reports the decoder unused', () => {
    const { backbone, weights, unused, tensors } = fixtureModel();
    expect(weights.size).toBe(backbone.paramSpecs().length);
    expect(unused).toEqual(['modality_encoders.IMAGE.decoder.proj.weight']);
    expect(backbone.numTokens).toBe(1 + 4 * 8);
    const ref = npy('positions').data as Float32Array;
    expect(relToMax(eatPositions(32, 4, 8), ref)).toBeLessThanOrEqual(1e-6);
    const prefixed = new Map([...tensors].map(([k, v]) => [`model.${k}`, v]));
    expect(backbone.loadWeights(prefixed).unused).toEqual(['model.modality_encoders.IMAGE.decoder.proj.weight']);
    const shifted = new Map(tensors);
    const pos = tensors.get('modality_encoders.IMAGE.fixed_positional_encoder.positions')!;
    shifted.set('modality_encoders.IMAGE.fixed_positional_encoder.positions', { ...pos, data: Float32Array.from(pos.data as Float32Array, (v) => v + 0.01) });
    expect(() => backbone.loadWeights(shifted, { source: 'e.pt' })).toThrow(BackboneConfigError);
    expect(backbone.hasClsToken).toBe(true);
  });

  it('matches every stage for a full, a short (padded) and a long (cut) clip', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const { backbone, weights } = fixtureModel();
    expectClipParity(backbone, frozenOps(backbone, weights), ['full', 'short', 'long'], fbank, STAGES, npy, STAGE_TOL);
  });

  it('gives each clip of a padded batch the tokens it gets alone', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const { backbone, weights } = fixtureModel();
    expectPaddedFbankBatch(backbone, frozenOps(backbone, weights), npy, STAGE_TOL);
  });

  it('passes gradients to every parameter on wasm (also in training mode), matching a central difference', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const { backbone, weights } = fixtureModel();
    const params = createTfParams(backbone.paramSpecs(), { loaded: weights });
    const ops = new TfOps(params);
    const x = fbank('short');
    const r = tf.randomNormal([1, backbone.numTokens, 32], 0, 1, 'float32', 6);
    const objective = (training: boolean) => tf.sum<tf.Scalar>(tf.mul(backbone.forward(ops, x, { training }), r));
    const { value, grads } = tf.variableGrads(() => objective(false));
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    for (const [name, v] of params) {
      const data = grads[v.name]!.dataSync();
      expect(data.every(Number.isFinite), name).toBe(true);
      expect(data.some((e) => e !== 0), `${name} has an all-zero gradient`).toBe(true);
    }
    const trained = tf.variableGrads(() => objective(true));
    expect(Number.isFinite(trained.value.dataSync()[0])).toBe(true);
    expectCentralDifferences(params, grads, ['modality_encoders.IMAGE.local_encoder.proj.weight', 'modality_encoders.IMAGE.extra_tokens', 'blocks.1.attn.qkv.weight'], () => objective(false).dataSync()[0]!);
  });
});

describe('EAT contracts', () => {
  it('defaults to EAT-base: 513 tokens of 768, 85.3M parameters', () => {
    const b = createBackbone('eat') as EatBackbone;
    expect(b.numTokens).toBe(513);
    expect(b.tokenDim).toBe(768);
    // 12 blocks x (qkv 3D^2 + 3D, proj D^2 + D, norms 4D, fc1 4D^2 + 4D, fc2 4D^2 + D) + patch conv 256D + D + extra token D + context LN 2D
    const D = 768;
    expect(b.paramSpecs().reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0)).toBe(12 * (12 * D * D + 13 * D) + 256 * D + D + D + 2 * D);
  });

  it('names a missing or mis-shaped tensor; rejects bad cfgs', () => {
    const { backbone, tensors } = fixtureModel();
    const missing = new Map(tensors);
    missing.delete('blocks.1.norm2.bias');
    expect(() => backbone.loadWeights(missing, { source: 'e.pt' })).toThrow(MissingWeightError);
    expect(() => backbone.loadWeights(missing, { source: 'e.pt' })).toThrow("e.pt: the checkpoint has no tensor 'blocks.1.norm2.bias'");
    const bad = new Map(tensors);
    bad.set('modality_encoders.IMAGE.extra_tokens', { dtype: 'float32', shape: [1, 2, 32], data: new Float32Array(64) });
    expect(() => backbone.loadWeights(bad, { source: 'e.pt' })).toThrow(WeightShapeError);
    expect(() => parseEatConfig({ target_length: 100 }, 'cfg')).toThrow(BackboneConfigError);
    expect(() => parseEatConfig({ target_length: 100 }, 'cfg')).toThrow('cfg: target_length 100 and num_mel_bins 128 must be multiples of patch_size 16');
  });
});
