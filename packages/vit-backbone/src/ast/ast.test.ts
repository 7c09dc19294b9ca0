import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { readNpy, readTorchCheckpoint } from '@anopatch/checkpoint';
import { createTfParams, initBackend, TfOps } from '@anopatch/runtime';
import { relToMax } from '@anopatch/test-fixtures';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';

import { expectCentralDifferences, expectClipParity, expectPaddedFbankBatch, frozenOps } from '../__tests__/harness.js';
import { BackboneConfigError, createBackbone, MissingWeightError, WeightShapeError, type WeightRecord } from '../backbone.js';
import '../index.js';
import { AST_PAD_VALUE, parseAstConfig, type AstBackbone } from './model.js';

/** DESIGN.md: backbone outputs within 1e-3 of max |ref| at every stage. */
const STAGE_TOL = 1e-3;
const STAGES = ['patch_embed', 'embeddings', 'layer0_attention', 'layer_0', 'layer_1', 'final'];
const DIR = fileURLToPath(new URL('../../../../tooling/reference/backbones/ast/', import.meta.url));
const npy = (name: string) => readNpy(readFileSync(`${DIR}${name}.npy`));

function fixtureModel() {
  const ck = readTorchCheckpoint(DIR);
  const backbone = createBackbone('ast', { config: ck.meta.config }) as AstBackbone;
  return { backbone, tensors: ck.tensors, ...backbone.loadWeights(ck.tensors, { source: DIR }) };
}

function fbank(clip: string): tf.Tensor {
  const a = npy(`${clip}.fbank`);
  return tf.tensor(a.data as Float32Array, [1, ...a.shape]);
}

afterEach(() => tf.disposeVariables());

describe('AST parity with the Hugging Face forward (tooling/reference/backbones/ast)', () => {
  it('builds the model from config.json and uses every tensor', () => {
    const { backbone, weights, unused } = fixtureModel();
    expect(unused).toEqual([]);
    expect(weights.size).toBe(backbone.paramSpecs().length);
    expect(backbone.numTokens).toBe(2 + 12 * 5);
    expect(backbone.tokenDim).toBe(32);
    expect(backbone.hasClsToken).toBe(true);
    const meta = JSON.parse(readFileSync(`${DIR}meta.json`, 'utf8')) as { pad_value: number };
    expect(AST_PAD_VALUE).toBeCloseTo(meta.pad_value, 6);
  });

  it('matches every stage for a full, a short (padded) and a long (cut) clip', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const { backbone, weights } = fixtureModel();
    expectClipParity(backbone, frozenOps(backbone, weights), ['full', 'short', 'long'], fbank, STAGES, npy, STAGE_TOL);
  });

  it('gives each clip of a padded batch the tokens it gets alone', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const { backbone, weights } = fixtureModel();
    const short = expectPaddedFbankBatch(backbone, frozenOps(backbone, weights), npy, STAGE_TOL);
    expect(relToMax(short, npy('short.final').data as Float32Array)).toBeLessThanOrEqual(STAGE_TOL);
  });
});

describe('AST gradients on wasm', () => {
  it('reach every parameter of the tiny model and match a central difference', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const { backbone, weights } = fixtureModel();
    const params = createTfParams(backbone.paramSpecs(), { loaded: weights });
    const ops = new TfOps(params);
    const x = fbank('short');
    const r = tf.randomNormal([1, backbone.numTokens, 32], 0, 1, 'float32', 3);
    const objective = () => tf.sum<tf.Scalar>(tf.mul(backbone.forward(ops, x, { training: false }), r));
    const { value, grads } = tf.variableGrads(objective);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    for (const [name, v] of params) {
      const g = grads[v.name];
      expect(g, name).toBeDefined();
      const data = g!.dataSync();
      expect(data.every(Number.isFinite), name).toBe(true);
      expect(data.some((e) => e !== 0), `${name} has an all-zero gradient`).toBe(true);
    }
    expectCentralDifferences(params, grads, ['embeddings.patch_embeddings.projection.weight', 'embeddings.position_embeddings', 'encoder.layer.1.attention.attention.query.weight'], () => objective().dataSync()[0]!);
  });
});

describe('AST contracts', () => {
  it('has the published AudioSet size by default: 86.2M parameters, 1214 tokens', () => {
    const b = createBackbone('ast') as AstBackbone;
    expect(b.numTokens).toBe(1214);
    expect(b.paramSpecs().reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0)).toBe(86_187_264);
  });

  it('names a missing or mis-shaped tensor, reports unused ones, reads prefixed task checkpoints', () => {
    const { backbone, tensors } = fixtureModel();
    const prefixed = new Map<string, WeightRecord>([...tensors].map(([k, v]) => [`audio_spectrogram_transformer.${k}`, v]));
    prefixed.set('classifier.dense.weight', { dtype: 'float32', shape: [3, 32], data: new Float32Array(96) });
    expect(backbone.loadWeights(prefixed).unused).toEqual(['classifier.dense.weight']);
    const missing = new Map(tensors);
    missing.delete('encoder.layer.1.output.dense.bias');
    expect(() => backbone.loadWeights(missing, { source: 'm.bin' })).toThrow(MissingWeightError);
    expect(() => backbone.loadWeights(missing, { source: 'm.bin' })).toThrow("m.bin: the checkpoint has no tensor 'encoder.layer.1.output.dense.bias'");
    const bad = new Map(tensors);
    bad.set('embeddings.position_embeddings', { dtype: 'float32', shape: [1, 61, 32], data: new Float32Array(61 * 32) });
    expect(() => backbone.loadWeights(bad, { source: 'm.bin' })).toThrow(WeightShapeError);
    expect(() => backbone.loadWeights(bad, { source: 'm.bin' })).toThrow(/'embeddings.position_embeddings' has shape \[1, 61, 32\], the model expects \[1, 62, 32\]/);
  });

  it('rejects mistyped or unsupported config fields', () => {
    expect(() => parseAstConfig({ hidden_size: '32' }, 'c.json')).toThrow(BackboneConfigError);
    expect(() => parseAstConfig({ hidden_size: '32' }, 'c.json')).toThrow('c.json: mistyped config field(s) hidden_size="32" (expected int)');
    expect(() => parseAstConfig({ hidden_act: 'relu' }, 'c.json')).toThrow(/hidden_act 'relu' is not supported/);
  });
});
