import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type TensorData } from '@anopatch/runtime';
import { loadReferenceJson, loadReferenceNpy, maxAbsDiff, referencePath } from '@anopatch/test-fixtures';
import { loadBeatsCheckpoint } from '@anopatch/vit-backbone';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ModelConfigError, ModelStateError } from '../errors.js';
import { loadModel, saveModel } from '../io/model-files.js';
import { AnoPatchModel } from './model.js';

function fixtureHead(): Map<string, TensorData> {
  const names = loadReferenceJson<{ name: string; shape: number[]; dtype: string }[]>('head/names.json');
  return new Map(
    names.filter((n) => n.dtype === 'float32').map((n) => [n.name, { shape: n.shape, data: loadReferenceNpy(`head/${n.name}.npy`).data as Float32Array }]),
  );
}

function fbankOf(clip: string) {
  const a = loadReferenceNpy(`${clip}.fbank.npy`);
  return { data: a.data as Float32Array, frames: a.shape[0]!, bins: a.shape[1]! };
}

/** Full model (tiny BEATs + ASP + fc) vs the official PyTorch run: fixture README suggests 3e-4 on transformer outputs; the head shrinks it. */
const TOL = 1e-4;

describe('AnoPatchModel (tiny BEATs fixture + head.pt)', () => {
  let dir: string;
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm', env: {} });
    dir = mkdtempSync(join(tmpdir(), 'anopatch-model-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // fromPretrained: the architecture from the checkpoint's cfg, its weights, the fixture head
  const build = () => AnoPatchModel.fromPretrained('beats', referencePath('tiny_beats.pt'), { attentionChannels: 32, embedDim: 16 }, { headWeights: fixtureHead() }).model;

  it('fromPretrained keeps the checkpoint cfg so a saved model rebuilds the same architecture', () => {
    const { model, unused } = AnoPatchModel.fromPretrained('beats', referencePath('tiny_beats.pt'), { embedDim: 16 });
    expect(model.config.backboneOptions).toEqual({ config: loadBeatsCheckpoint(referencePath('tiny_beats.pt')).backbone.config });
    expect((model.config.backboneOptions.config as { encoder_embed_dim: number }).encoder_embed_dim).toBe(64);
    expect(unused).toEqual([]);
    model.dispose();
  });

  it('embed() reproduces <clip>.embedding.npy for clips of different lengths (grouped by length, input order kept)', () => {
    const model = build();
    expect(model.config.head).toEqual({ pooling: 'asp', channels: 64, attentionChannels: 32, embedDim: 16 });
    const clips = ['clip_a', 'clip_b', 'clip_c', 'clip_a'];
    const rows = model.embed(clips.map(fbankOf), { batchSize: 2 });
    clips.forEach((c, i) => {
      expect(rows[i]!.length).toBe(16);
      expect(maxAbsDiff(rows[i]!, loadReferenceNpy(`${c}.embedding.npy`).data as Float32Array)).toBeLessThan(TOL);
    });
    // BatchNorm running stats are not trainable; everything else is
    const trainable = model.trainableParams();
    expect(trainable.has('asp.tdnn.norm.norm.running_mean')).toBe(false);
    expect(trainable.has('asp.tdnn.norm.norm.weight')).toBe(true);
    expect(trainable.has('patch_embedding.weight')).toBe(true);
    expect(trainable.size).toBe(model.params.size - 2);
    model.dispose();
  });

  it('saveModel / loadModel round-trip: same embeddings from the rebuilt model', async () => {
    const model = build();
    await saveModel(dir, model, { classes: ['a', 'b'] });
    const loaded = loadModel(dir);
    expect(loaded.file.classes).toEqual(['a', 'b']);
    expect(loaded.model.config).toEqual(model.config);
    const x = [fbankOf('clip_c')];
    expect(Array.from(loaded.model.embed(x)[0]!)).toEqual(Array.from(model.embed(x)[0]!));
    const state = await model.state();
    expect(state.get('backbone.patch_embedding.weight')!.shape).toEqual([32, 1, 16, 16]);
    expect(state.get('head.asp.tdnn.norm.norm.num_batches_tracked')!.shape).toEqual([]);
    state.delete('head.fc.bias');
    expect(() => loaded.model.loadState(state, 'x.safetensors')).toThrow(ModelStateError);
    expect(() => loaded.model.loadState(state, 'x.safetensors')).toThrow("x.safetensors: missing tensor 'head.fc.bias'");
    model.dispose();
    loaded.model.dispose();
  });

  it('rejects [CLS] pooling on a backbone without a [CLS] token', () => {
    expect(() => AnoPatchModel.create({ backbone: 'beats', backboneOptions: { config: loadBeatsCheckpoint(referencePath('tiny_beats.pt')).backbone.config }, pooling: 'cls' })).toThrow(ModelConfigError);
  });

  it('forward in training mode returns BatchNorm batch statistics and updateBatchNorm moves the running stats (numTensors stays flat)', () => {
    const model = build();
    const x = tf.tensor3d(fbankOf('clip_a').data, [1, 198, 128]);
    const rm0 = Array.from(model.params.get('asp.tdnn.norm.norm.running_mean')!.dataSync());
    const before = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) {
      const out = tf.tidy(() => {
        const r = model.forward(x, { training: true, random: () => 0.5 });
        return { mean: r.batchStats!.mean, variance: r.batchStats!.variance, count: r.batchStats!.count, e: r.embedding };
      });
      expect(out.count).toBe(96);
      model.updateBatchNorm(out);
      tf.dispose([out.mean, out.variance, out.e]);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(model.numBatchesTracked).toBe(2);
    const rm1 = Array.from(model.params.get('asp.tdnn.norm.norm.running_mean')!.dataSync());
    expect(maxAbsDiff(rm0, rm1)).toBeGreaterThan(0);
    x.dispose();
    model.dispose();
  });
});
