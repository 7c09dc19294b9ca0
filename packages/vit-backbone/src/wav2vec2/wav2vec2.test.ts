import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { readNpy, readTorchCheckpoint } from '@anopatch/checkpoint';
import { createTfParams, initBackend, TfOps } from '@anopatch/runtime';
import { relToMax } from '@anopatch/test-fixtures';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';

import { expectCentralDifferences, expectClipParity, frozenOps } from '../__tests__/harness.js';
import { BackboneConfigError, createBackbone, MissingWeightError, WeightShapeError, type WeightRecord } from '../backbone.js';
import '../index.js';
import { parseWav2Vec2Config, type Wav2Vec2Backbone } from './model.js';

/** DESIGN.md: backbone outputs within 1e-3 of max |ref| at every stage. */
const STAGE_TOL = 1e-3;
const STAGES = ['conv_4', 'conv_6', 'extract_features', 'feature_projection', 'encoder_input', 'layer0_attention', 'layer_0', 'layer_1', 'final'];
const dirOf = (model: string) => fileURLToPath(new URL(`../../../../tooling/reference/backbones/${model}/`, import.meta.url));

/**
 * wav2vec2/: large-style (layer-normed convs, pre-LN, `wav2vec2.` names); hubert/: base-style
 * (GroupNorm, post-LN); wavlm/: large-style with WavLM's gated relative position bias.
 */
const MODELS = ['wav2vec2', 'hubert', 'wavlm'] as const;

function fixture(model: (typeof MODELS)[number]) {
  const dir = dirOf(model);
  const ck = readTorchCheckpoint(dir);
  const backbone = createBackbone(model, { config: ck.meta.config }) as Wav2Vec2Backbone;
  const npy = (name: string) => readNpy(readFileSync(`${dir}${name}.npy`));
  const wave = (clip: string) => {
    const a = npy(`${clip}.wave`);
    return tf.tensor(a.data as Float32Array, [1, a.shape[0]!]);
  };
  return { dir, backbone, tensors: ck.tensors, npy, wave, ...backbone.loadWeights(ck.tensors, { source: dir }) };
}

afterEach(() => tf.disposeVariables());

describe.each(MODELS)('%s parity with the Hugging Face forward', (model) => {
  it('builds the model from config.json and maps the checkpoint', () => {
    const { backbone, weights, unused } = fixture(model);
    expect(weights.size).toBe(backbone.paramSpecs().length);
    // the pre-training heads and HF's training-time mask embedding are not part of the encoder
    expect(unused).toEqual(model === 'wav2vec2' ? ['project_hid.weight', 'wav2vec2.masked_spec_embed'] : ['masked_spec_embed']);
    if (model === 'wavlm') expect(weights.get('encoder.layers.0.attention.rel_attn_embed.weight')!.shape).toEqual([16, 4]);
    expect(backbone.frontEnd).toBe('waveform');
    expect(backbone.framesFor(4000)).toBe(12);
  });

  it('matches every stage for two clips run alone', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const { backbone, weights, npy, wave } = fixture(model);
    expectClipParity(backbone, frozenOps(backbone, weights), ['clip_a', 'clip_b'], wave, STAGES, npy, STAGE_TOL);
  });

  it('gives each clip of a padded batch the tokens it gets alone', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const { backbone, weights, npy, wave } = fixture(model);
    const ops = new TfOps(createTfParams(backbone.paramSpecs(), { loaded: weights, trainable: false }));
    const a = npy('clip_a.wave');
    const b = npy('clip_b.wave');
    const S = a.shape[0]!;
    const batch = new Float32Array(2 * S).fill(0.7); // padding content must not matter
    batch.set(b.data as Float32Array, 0);
    batch.set(a.data as Float32Array, S);
    const mask = new Float32Array(2 * S);
    mask.fill(1, b.shape[0], S);
    const out = tf.tidy(() => backbone.forward(ops, tf.tensor(batch, [2, S]), { training: false, paddingMask: tf.tensor(mask, [2, S]) }).dataSync());
    const perClip = backbone.framesFor(S) * 32;
    const nb = backbone.framesFor(b.shape[0]!) * 32;
    const alone = tf.tidy(() => backbone.forward(ops, wave('clip_b'), { training: false }).dataSync());
    expect(nb).toBe(alone.length);
    expect(relToMax(out.slice(0, nb), alone)).toBeLessThanOrEqual(1e-5);
    expect(relToMax(out.slice(0, nb), npy('clip_b.final').data as Float32Array)).toBeLessThanOrEqual(STAGE_TOL);
    expect(relToMax(out.slice(perClip), npy('clip_a.final').data as Float32Array)).toBeLessThanOrEqual(STAGE_TOL);
  });

  it('runs the training path: dropout and HF layer drop (a draw below layerdrop skips the layer)', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const { backbone, weights, wave } = fixture(model);
    const ops = new TfOps(createTfParams(backbone.paramSpecs(), { loaded: weights, trainable: false }));
    const seen: string[] = [];
    const run = (draw: number) =>
      tf.tidy(() => {
        seen.length = 0;
        return backbone.forward(ops, wave('clip_b'), { training: true, random: () => draw, tap: (name) => seen.push(name) }).dataSync();
      });
    const kept = run(0.99);
    expect(kept.every(Number.isFinite)).toBe(true);
    expect(seen).toContain('layer0_attention');
    run(0.0);
    // every layer skipped, except WavLM's first, which HF never drops (it computes the position bias)
    expect(seen.includes('layer0_attention')).toBe(model === 'wavlm');
  });

  it('passes gradients to every parameter on wasm, matching a central difference', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const { backbone, weights, wave } = fixture(model);
    const params = createTfParams(backbone.paramSpecs(), { loaded: weights });
    const ops = new TfOps(params);
    const x = wave('clip_b');
    const r = tf.randomNormal([1, backbone.framesFor(2900), 32], 0, 1, 'float32', 4);
    const objective = () => tf.sum<tf.Scalar>(tf.mul(backbone.forward(ops, x, { training: false }), r));
    const { value, grads } = tf.variableGrads(objective);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    for (const [name, v] of params) {
      const data = grads[v.name]!.dataSync();
      expect(data.every(Number.isFinite), name).toBe(true);
      expect(data.some((e) => e !== 0), `${name} has an all-zero gradient`).toBe(true);
    }
    const probes = ['feature_extractor.conv_layers.0.conv.weight', 'feature_extractor.conv_layers.5.conv.weight', 'encoder.pos_conv_embed.conv.weight_g', 'encoder.layers.1.attention.q_proj.weight'];
    if (model === 'wavlm') probes.push('encoder.layers.0.attention.rel_attn_embed.weight', 'encoder.layers.1.attention.gru_rel_pos_linear.weight');
    expectCentralDifferences(params, grads, probes, () => objective().dataSync()[0]!);
  });
});

describe('wav2vec2-family contracts', () => {
  it('defaults to the large (Table 3) architecture: 315.4M encoder parameters (no masked_spec_embed)', () => {
    // WavLM adds rel_attn_embed (320 x 16) and per layer gru_rel_pos_const (16) + gru_rel_pos_linear (8 x 64 + 8)
    for (const [id, n] of [['wav2vec2', 315_437_696], ['hubert', 315_437_696], ['unispeech', 315_437_696], ['wavlm', 315_437_696 + 320 * 16 + 24 * (16 + 8 * 64 + 8)]] as const) {
      const b = createBackbone(id) as Wav2Vec2Backbone;
      expect(b.tokenDim).toBe(1024);
      expect(b.numLayers).toBe(24);
      expect(b.paramSpecs().reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0), id).toBe(n);
    }
  });

  it('reads UniSpeech checkpoints (the same encoder under `unispeech.`)', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const ref = fixture('wav2vec2');
    const tensors = new Map<string, WeightRecord>([...ref.tensors].map(([k, v]) => [k.replace(/^wav2vec2\./, 'unispeech.'), v]));
    const backbone = createBackbone('unispeech', { config: { ...readTorchCheckpoint(ref.dir).meta.config as object, model_type: 'unispeech' } });
    const { weights, unused } = backbone.loadWeights(tensors);
    expect(unused).toEqual(['project_hid.weight', 'unispeech.masked_spec_embed']);
    const ops = new TfOps(createTfParams(backbone.paramSpecs(), { loaded: weights, trainable: false }));
    const out = tf.tidy(() => backbone.forward(ops, ref.wave('clip_a'), { training: false }).dataSync());
    expect(relToMax(out, ref.npy('clip_a.final').data as Float32Array)).toBeLessThanOrEqual(STAGE_TOL);
  });

  it('reads the newer parametrizations names of the weight-normed positional conv', () => {
    const { backbone, tensors } = fixture('hubert');
    const renamed = new Map<string, WeightRecord>(tensors);
    renamed.set('encoder.pos_conv_embed.conv.parametrizations.weight.original0', renamed.get('encoder.pos_conv_embed.conv.weight_g')!);
    renamed.set('encoder.pos_conv_embed.conv.parametrizations.weight.original1', renamed.get('encoder.pos_conv_embed.conv.weight_v')!);
    renamed.delete('encoder.pos_conv_embed.conv.weight_g');
    renamed.delete('encoder.pos_conv_embed.conv.weight_v');
    const { weights, unused } = backbone.loadWeights(renamed);
    expect(unused).toEqual(['masked_spec_embed']);
    expect(weights.get('encoder.pos_conv_embed.conv.weight_g')!.data).toEqual(tensors.get('encoder.pos_conv_embed.conv.weight_g')!.data);
  });

  it('names a missing or mis-shaped tensor', () => {
    const { backbone, tensors } = fixture('wav2vec2');
    const missing = new Map(tensors);
    missing.delete('wav2vec2.encoder.layers.1.final_layer_norm.bias');
    expect(() => backbone.loadWeights(missing, { source: 'w.bin' })).toThrow(MissingWeightError);
    expect(() => backbone.loadWeights(missing, { source: 'w.bin' })).toThrow("w.bin: the checkpoint has no tensor 'wav2vec2.encoder.layers.1.final_layer_norm.bias'");
    const bad = new Map(tensors);
    bad.set('wav2vec2.feature_extractor.conv_layers.0.conv.weight', { dtype: 'float32', shape: [16, 1, 9], data: new Float32Array(144) });
    expect(() => backbone.loadWeights(bad, { source: 'w.bin' })).toThrow(WeightShapeError);
    expect(() => backbone.loadWeights(bad, { source: 'w.bin' })).toThrow(/'wav2vec2.feature_extractor.conv_layers.0.conv.weight' has shape \[16, 1, 9\], the model expects \[16, 1, 10\]/);
  });

  it('rejects unsupported or inconsistent configs', () => {
    expect(() => parseWav2Vec2Config({ feat_extract_norm: 'batch' }, 'c.json')).toThrow(BackboneConfigError);
    expect(() => parseWav2Vec2Config({ conv_kernel: [10, 3] }, 'c.json')).toThrow(/c.json: conv_dim, conv_kernel and conv_stride must be non-empty and of one length/);
    expect(() => parseWav2Vec2Config({ conv_bias: 1 }, 'c.json')).toThrow('c.json: mistyped config field(s) conv_bias=1 (expected bool)');
  });
});
