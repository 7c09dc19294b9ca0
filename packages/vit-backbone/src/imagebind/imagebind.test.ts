import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { readNpy, readTorchCheckpoint } from '@anopatch/checkpoint';
import { createTfParams, initBackend, TfOps } from '@anopatch/runtime';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';

import { expectCentralDifferences, expectClipParity, expectPaddedFbankBatch, frozenOps } from '../__tests__/harness.js';
import { BackboneConfigError, createBackbone, MissingWeightError, WeightShapeError } from '../backbone.js';
import '../index.js';
import { parseImageBindAudioConfig, type ImageBindAudioBackbone } from './model.js';

/** DESIGN.md: backbone outputs within 1e-3 of max |ref| at every stage. */
const STAGE_TOL = 1e-3;
const STAGES = ['patch_embed', 'embeddings', 'layer0_attention', 'layer_0', 'layer_1', 'final'];
const DIR = fileURLToPath(new URL('../../../../tooling/reference/backbones/imagebind/', import.meta.url));
const npy = (name: string) => readNpy(readFileSync(`${DIR}${name}.npy`));

function fixtureModel() {
  const ck = readTorchCheckpoint(`${DIR}tiny_imagebind.pt`);
  const config = JSON.parse(readFileSync(`${DIR}config.json`, 'utf8')) as unknown;
  const backbone = createBackbone('imagebind', { config }) as ImageBindAudioBackbone;
  return { backbone, tensors: ck.tensors, ...backbone.loadWeights(ck.tensors, { source: 'tiny_imagebind.pt' }) };
}

function fbank(clip: string): tf.Tensor {
  const a = npy(`${clip}.fbank`);
  return tf.tensor(a.data as Float32Array, [1, ...a.shape]);
}

afterEach(() => tf.disposeVariables());

describe('ImageBind audio parity with the official forward (tooling/reference/backbones/imagebind)', () => {
  it('maps the official names and reports other modalities and the joint projection unused', () => {
    const { backbone, weights, unused } = fixtureModel();
    expect(weights.size).toBe(backbone.paramSpecs().length);
    expect(unused).toEqual(['modality_heads.audio.2.weight', 'modality_preprocessors.vision.cls_token']);
    expect(backbone.numTokens).toBe(1 + 12 * 3);
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

  it('passes gradients to every parameter on wasm (stochastic depth on), matching a central difference', async () => {
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
    expectCentralDifferences(params, grads, [`modality_preprocessors.audio.rgbt_stem.proj.weight`, 'modality_trunks.audio.blocks.0.attn.bias_k', 'modality_trunks.audio.blocks.1.attn.in_proj_weight'], () => objective(false).dataSync()[0]!);
  });
});

describe('ImageBind audio contracts', () => {
  it('defaults to imagebind_huge audio branch: 229 tokens of 768, 85.4M parameters', () => {
    const b = createBackbone('imagebind') as ImageBindAudioBackbone;
    expect(b.numTokens).toBe(229);
    expect(b.tokenDim).toBe(768);
    // 12 blocks x (in_proj 3D^2 + 3D, bias_k/v 2D, out_proj D^2 + D, norms 4D, fc1 4D^2 + 4D, fc2 4D^2 + D) + stem conv 256D + stem LN 2D + cls D + pos 229D + head LN 2D
    const D = 768;
    expect(b.paramSpecs().reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0)).toBe(12 * (12 * D * D + 15 * D) + 256 * D + 2 * D + D + 229 * D + 2 * D);
  });

  it('names a missing or mis-shaped tensor; rejects bad cfgs', () => {
    const { backbone, tensors } = fixtureModel();
    const missing = new Map(tensors);
    missing.delete('modality_trunks.audio.blocks.1.attn.bias_v');
    expect(() => backbone.loadWeights(missing, { source: 'ib.pth' })).toThrow(MissingWeightError);
    expect(() => backbone.loadWeights(missing, { source: 'ib.pth' })).toThrow("ib.pth: the checkpoint has no tensor 'modality_trunks.audio.blocks.1.attn.bias_v'");
    const bad = new Map(tensors);
    bad.set('modality_preprocessors.audio.pos_embedding_helper.pos_embed', { dtype: 'float32', shape: [1, 36, 32], data: new Float32Array(36 * 32) });
    expect(() => backbone.loadWeights(bad, { source: 'ib.pth' })).toThrow(WeightShapeError);
    expect(() => parseImageBindAudioConfig({ num_heads: 5, embed_dim: 32 }, 'cfg')).toThrow(BackboneConfigError);
    expect(() => parseImageBindAudioConfig({ num_heads: 5, embed_dim: 32 }, 'cfg')).toThrow('cfg: embed_dim 32 is not a multiple of num_heads 5');
  });
});
