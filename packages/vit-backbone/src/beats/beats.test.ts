import { createTfParams, initBackend, TfOps, type BackendName } from '@anopatch/runtime';
import { loadReferenceJson, loadReferenceNpy, referencePath, relToMax } from '@anopatch/test-fixtures';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';

import { expectCentralDifferences } from '../__tests__/harness.js';
import { BackboneConfigError, createBackbone, knownBackbones, MissingWeightError, UnknownBackboneError, WeightShapeError, type WeightRecord } from '../backbone.js';
import '../index.js';
import { paddingMaskFromLengths } from '../padding.js';
import { loadBeatsCheckpoint } from './checkpoint.js';
import { BEATS_ITER3_CONFIG, parseBeatsConfig } from './config.js';
import { BeatsBackbone, beatsRelativeBuckets } from './model.js';

/** DESIGN.md: backbone outputs within 1e-3 of max |ref| at every stage. */
const STAGE_TOL = 1e-3;
const STAGES = ['patch_embed', 'patch_ln', 'post_proj', 'pos_conv', 'enc_ln', 'layer0_self_attn', 'layer_0', 'layer_1', 'final'];

function fixtureModel() {
  const { cfg } = loadReferenceJson<{ cfg: Record<string, unknown> }>('meta.json');
  const loaded = loadBeatsCheckpoint(referencePath('tiny_beats.pt'));
  return { cfg, ...loaded };
}

function fbank(clip: string): tf.Tensor {
  const a = loadReferenceNpy(`${clip}.fbank.npy`);
  return tf.tensor(a.data as Float32Array, [1, ...a.shape]);
}

afterEach(() => tf.disposeVariables());

describe('BEATs parity with the official model (tiny_beats.pt)', () => {
  it('loads the checkpoint by its own cfg and uses every tensor', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const { cfg, backbone, weights, unused, unknownConfigFields } = fixtureModel();
    expect(backbone.config).toEqual(parseBeatsConfig(cfg).config);
    expect(unknownConfigFields).toEqual([]);
    expect(unused).toEqual([]);
    expect(backbone.tokenDim).toBe(64);
    expect(backbone.numLayers).toBe(2);
    expect(weights.size).toBe(backbone.paramSpecs().length);
    const ref = loadReferenceNpy('beats_params/encoder.pos_conv.0.weight_v.npy');
    expect(Array.from(weights.get('encoder.pos_conv.0.weight_v')!.data)).toEqual(Array.from(ref.data as Float32Array));
  });

  it('matches every stage for clip_a and clip_b run alone', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const { backbone, weights } = fixtureModel();
    const ops = new TfOps(createTfParams(backbone.paramSpecs(), { loaded: weights, trainable: false }));
    for (const clip of ['clip_a', 'clip_b']) {
      const taps = new Map<string, Float32Array>();
      tf.tidy(() => {
        backbone.forward(ops, fbank(clip), { training: false, tap: (name, v) => taps.set(name, v.dataSync() as Float32Array) });
      });
      for (const stage of STAGES) {
        const ref = loadReferenceNpy(`${clip}.${stage}.npy`);
        const got = taps.get(stage);
        expect(got, `${clip} ${stage}`).toBeDefined();
        const err = relToMax(got!, ref.data as Float32Array);
        expect(err, `${clip} ${stage}: max abs diff / max |ref| = ${err}`).toBeLessThanOrEqual(STAGE_TOL);
      }
      // and the whole model against the float64 run
      const f64 = loadReferenceNpy(`${clip}.final_f64.npy`);
      expect(relToMax(taps.get('final')!, Float64Array.from(f64.data as Float64Array))).toBeLessThanOrEqual(STAGE_TOL);
    }
  });

  it('gives each clip of a padded batch the tokens it gets alone', async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    const { backbone, weights } = fixtureModel();
    const ops = new TfOps(createTfParams(backbone.paramSpecs(), { loaded: weights, trainable: false }));
    const a = loadReferenceNpy('clip_a.fbank.npy');
    const b = loadReferenceNpy('clip_b.fbank.npy');
    const frames = b.shape[0]!;
    const batch = new Float32Array(2 * frames * 128);
    batch.set(a.data as Float32Array, 0);
    batch.set(b.data as Float32Array, frames * 128);
    const mask = paddingMaskFromLengths([a.shape[0]!, frames], frames);
    const out = tf.tidy(() =>
      backbone.forward(ops, tf.tensor(batch, [2, frames, 128]), { training: false, paddingMask: tf.tensor(mask.data, mask.shape) }).arraySync(),
    ) as number[][][];
    expect(out.length).toBe(2);
    expect(out[0]!.length).toBe(144);
    const pa = 96;
    const refA = loadReferenceNpy('clip_a.final.npy').data as Float32Array;
    const refB = loadReferenceNpy('clip_b.final.npy').data as Float32Array;
    expect(relToMax(Float32Array.from(out[0]!.slice(0, pa).flat()), refA)).toBeLessThanOrEqual(STAGE_TOL);
    expect(relToMax(Float32Array.from(out[1]!.flat()), refB)).toBeLessThanOrEqual(STAGE_TOL);
    // and against our own single-clip run, much tighter: same arithmetic, other batch shape
    const aloneA = tf.tidy(() => backbone.forward(ops, fbank('clip_a'), { training: false }).dataSync());
    expect(relToMax(Float32Array.from(out[0]!.slice(0, pa).flat()), aloneA)).toBeLessThanOrEqual(1e-5);
  });

  it('computes the official relative position buckets', () => {
    const ref = loadReferenceNpy('clip_a.rel_pos_bucket.npy');
    expect(Array.from(beatsRelativeBuckets(96, 320, 800))).toEqual(Array.from(ref.data as Int32Array));
  });
});

describe.each(['wasm', 'cpu'] as BackendName[])('BEATs gradients on %s', (backend) => {
  it('reach every parameter of the tiny model', async () => {
    await initBackend({ prefer: backend, env: {} });
    const { backbone, weights } = fixtureModel();
    const params = createTfParams(backbone.paramSpecs(), { loaded: weights });
    const ops = new TfOps(params);
    const x = fbank('clip_c');
    let calls = 0;
    // a fixed random projection of the tokens: every token and channel matters, gradients are O(1)
    const r = tf.randomNormal([1, 72, 64], 0, 1, 'float32', 5);
    const objective = (training: boolean) => tf.sum<tf.Scalar>(tf.mul(backbone.forward(ops, x, { training, random: () => ++calls / 1000 }), r));
    const { value, grads } = tf.variableGrads(() => objective(true));
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    for (const [name, v] of params) {
      const g = grads[v.name];
      expect(g, name).toBeDefined();
      expect(g!.shape, name).toEqual(v.shape);
      const data = g!.dataSync();
      expect(data.every(Number.isFinite), name).toBe(true);
      expect(data.some((e) => e !== 0), `${name} has an all-zero gradient`).toBe(true);
    }
    // central difference on the most sensitive entry of a few parameters, from the input end to the output end
    expectCentralDifferences(params, grads, ['patch_embedding.weight', 'encoder.pos_conv.0.weight_g', 'encoder.layers.0.self_attn.relative_attention_bias.weight', 'encoder.layers.1.self_attn.q_proj.weight'], () => objective(false).dataSync()[0]!);
  });
});

describe('contracts', () => {
  it('lists known ids for an unknown backbone', () => {
    expect(knownBackbones()).toContain('beats');
    expect(() => createBackbone('nope')).toThrow(UnknownBackboneError);
    expect(() => createBackbone('nope')).toThrow(/known backbones: .*beats/);
    const b = createBackbone('beats');
    expect(b.tokenDim).toBe(768);
    expect(b.frontEnd).toBe('fbank');
    expect(b.hasClsToken).toBe(false);
  });

  it('has the published BEATs_iter3 size: about 90M parameters', () => {
    const n = new BeatsBackbone(BEATS_ITER3_CONFIG).paramSpecs().reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
    expect(n).toBe(90_311_792);
  });

  it('reads cfg strictly: missing, mistyped and unknown fields', () => {
    const { cfg } = loadReferenceJson<{ cfg: Record<string, unknown> }>('meta.json');
    const { deep_norm: _dropped, ...noDeepNorm } = cfg;
    expect(() => parseBeatsConfig(noDeepNorm, 'x.pt')).toThrow(BackboneConfigError);
    expect(() => parseBeatsConfig(noDeepNorm, 'x.pt')).toThrow("x.pt: missing BEATs config field(s) deep_norm");
    expect(() => parseBeatsConfig({ ...cfg, encoder_layers: '2' }, 'x.pt')).toThrow(/encoder_layers="2"/);
    expect(parseBeatsConfig({ ...cfg, shiny: 1 }).unknown).toEqual(['shiny']);
    const { predictor_class: _pc, predictor_dropout: _pd, ...noPredictor } = cfg;
    expect(parseBeatsConfig(noPredictor).config.deep_norm).toBe(true);
  });

  it('names a missing or mis-shaped tensor and reports unused ones', () => {
    const { backbone, weights } = fixtureModel();
    const records = new Map<string, WeightRecord>([...weights].map(([k, v]) => [k, { dtype: 'float32', shape: v.shape, data: v.data }]));
    records.set('predictor.weight', { dtype: 'float32', shape: [2], data: new Float32Array(2) });
    expect(backbone.loadWeights(records).unused).toEqual(['predictor.weight']);
    const missing = new Map(records);
    missing.delete('encoder.layers.1.fc2.bias');
    expect(() => backbone.loadWeights(missing, { source: 'm.pt' })).toThrow(MissingWeightError);
    expect(() => backbone.loadWeights(missing, { source: 'm.pt' })).toThrow("m.pt: the checkpoint has no tensor 'encoder.layers.1.fc2.bias'");
    const bad = new Map(records);
    bad.set('layer_norm.weight', { dtype: 'float32', shape: [31], data: new Float32Array(31) });
    expect(() => backbone.loadWeights(bad, { source: 'm.pt' })).toThrow(WeightShapeError);
    expect(() => backbone.loadWeights(bad, { source: 'm.pt' })).toThrow(/'layer_norm.weight' has shape \[31\], the model expects \[32\]/);
  });
});
