import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { presetFbank } from '@anopatch/audio-features';
import { generateDataset, SYNTH_PRESETS } from '@anopatch/dcase-synth';
import { auc, pauc, readCsv, type Evaluation2020, type Evaluation2023 } from '@anopatch/dcase-eval';
import { initBackend } from '@anopatch/runtime';
import { TINY_BEATS_CONFIG } from '@anopatch/vit-backbone';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AnoPatchModel } from '../model/model.js';

import {
  buildDetector,
  EmbeddingCache,
  fbankStatsEmbedder,
  InterruptedError,
  loadEmbeddingSet,
  modelEmbedder,
  onnxModelEmbedder,
  runPipeline,
  type ClipEmbedder,
  type EmbeddedClipInfo,
} from './index.js';

let dir: string;
let data2020: string;
let data2023: string;
let embedder: ClipEmbedder;
let model: AnoPatchModel;

beforeAll(async () => {
  await initBackend({ prefer: 'wasm', env: {} });
  dir = await mkdtemp(join(tmpdir(), 'anopatch-pipeline-'));
  data2020 = join(dir, 'synth2020');
  data2023 = join(dir, 'synth2023');
  const small = { ...SYNTH_PRESETS.tiny, idsPerType: 1, trainPerMachine: 5, testNormalPerMachine: 4, testAnomalyPerMachine: 4 };
  await generateDataset(data2020, { edition: 2020, machineTypes: ['fan', 'valve'], ...small });
  await generateDataset(data2023, { edition: 2023, machineTypes: ['fan'], evalMachineTypes: ['grinder'], ...small, targetTrainPerSection: 2, testNormalPerMachine: 3, testAnomalyPerMachine: 3 });
  model = AnoPatchModel.create({ backbone: 'beats', backboneOptions: { config: TINY_BEATS_CONFIG }, embedDim: 32 }, { seed: 3 });
  embedder = await modelEmbedder(model, { batchSize: 4 });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function truth2020(root: string): Map<string, number> {
  // labels of every test clip by "<type>/<file>": dev from the names, eval from dcase-synth's eval_data_list.csv
  const m = new Map<string, number>();
  let type = '';
  for (const row of readCsv(join(root, 'ground_truth', 'eval_data_list.csv'))) {
    if (row.length === 1) type = row[0]!;
    else m.set(`${type}/${row[0]!}`, Number(row[2]));
  }
  return m;
}

describe('runPipeline (DCASE 2020 layout, tiny random-init BEATs)', () => {
  let first: Awaited<ReturnType<typeof runPipeline>>;
  let firstCsv: string;

  it('embeds, scores per (type, ID) bank, writes the official CSVs and evaluates both splits', async () => {
    const out = join(dir, 'run2020');
    const stages = new Set<string>();
    first = await runPipeline({ data: data2020, edition: 2020, out, embedder, onProgress: (e) => stages.add(e.stage) });
    expect([...stages]).toEqual(['embed dev', 'score dev', 'embed eval', 'score eval']);
    expect(readdirSync(join(out, 'scores', 'dev')).sort()).toEqual(['anomaly_score_fan_id_00.csv', 'anomaly_score_valve_id_00.csv']);
    expect(readdirSync(join(out, 'scores', 'eval')).sort()).toEqual(['anomaly_score_fan_id_01.csv', 'anomaly_score_valve_id_01.csv']);
    for (const f of ['results.json', 'results.csv', 'results.md', 'results_per_unit.csv', 'clip_scores_dev.csv', 'clip_scores_eval.csv']) expect(existsSync(join(out, f))).toBe(true);
    expect(first.splits.map((s) => [s.split, s.trainClips, s.testClips, s.embeddingsReused])).toEqual([
      ['dev', 10, 16, false],
      ['eval', 10, 16, false],
    ]);
    expect(first.table?.edition).toBe(2020);
    firstCsv = readFileSync(join(out, 'results.csv'), 'utf8');
    const set = loadEmbeddingSet(join(out, 'embeddings', 'dev'));
    expect(set.embeddings).toHaveLength(26);
    expect(set.set.dim).toBe(32);
  });

  it('reports the AUC / pAUC that a recomputation from the written CSVs and the true labels gives', () => {
    const labels = truth2020(data2020);
    for (const run of first.splits) {
      const ev = run.evaluation as Evaluation2020;
      expect(ev.units).toHaveLength(2);
      for (const u of ev.units) {
        const rows = readCsv(join(run.scoresDir, `anomaly_score_${u.type}_id_${u.id}.csv`));
        expect(rows).toHaveLength(8);
        const y = rows.map(([file]) => (run.split === 'dev' ? (file!.startsWith('anomaly') ? 1 : 0) : labels.get(`${u.type}/${file!}`)!));
        const s = rows.map(([, v]) => Number(v));
        expect(Math.abs(u.auc - auc(y, s))).toBeLessThanOrEqual(1e-12);
        expect(Math.abs(u.pauc - pauc(y, s))).toBeLessThanOrEqual(1e-12);
      }
    }
  });

  it('a rerun reuses the saved embeddings; without them the content-hash cache serves every clip', async () => {
    const out = join(dir, 'run2020');
    const again = await runPipeline({ data: data2020, edition: 2020, out, embedder });
    expect(again.splits.every((s) => s.embeddingsReused)).toBe(true);
    rmSync(join(out, 'embeddings'), { recursive: true });
    const fromCache = await runPipeline({ data: data2020, edition: 2020, out, embedder });
    expect(fromCache.splits.map((s) => s.embeddingsFromCache)).toEqual([26, 26]);
    expect(readFileSync(join(out, 'results.csv'), 'utf8')).toBe(firstCsv);
    expect(fromCache.table).toEqual(first.table);
  });

  it('a changed clip (same path, new bytes) invalidates the saved embeddings and only it is embedded again', async () => {
    const out = join(dir, 'run2020');
    const victim = join(data2020, 'dev_data', 'fan', 'test', 'normal_id_00_00000000.wav');
    const bytes = readFileSync(victim);
    const changed = Buffer.from(bytes);
    changed[100] = (changed[100]! + 1) & 0xff;
    writeFileSync(victim, changed);
    try {
      const res = await runPipeline({ data: data2020, edition: 2020, out, embedder, splits: ['dev'] });
      expect(res.splits[0]!.embeddingsReused).toBe(false);
      expect(res.splits[0]!.embeddingsFromCache).toBe(25);
    } finally {
      writeFileSync(victim, bytes);
    }
  });

  it('an interrupt stops between batches with InterruptedError and the rerun resumes from the cache', async () => {
    const out = join(dir, 'run2020-interrupted');
    const ctl = new AbortController();
    let seen = 0;
    await expect(
      runPipeline({
        data: data2020,
        edition: 2020,
        out,
        embedder,
        batchSize: 4,
        signal: ctl.signal,
        onProgress: (e) => {
          if (e.stage === 'embed dev' && e.done > 0 && ++seen === 2) ctl.abort(new InterruptedError());
        },
      }),
    ).rejects.toThrow(InterruptedError);
    expect(existsSync(join(out, 'results.json'))).toBe(false);
    const resumed = await runPipeline({ data: data2020, edition: 2020, out, embedder, batchSize: 4 });
    expect(resumed.splits[0]!.embeddingsFromCache).toBe(8);
    expect(resumed.table).toEqual(first.table);
  });
});

describe('runPipeline (DCASE 2023 layout)', () => {
  it('scores with source/target banks (min), writes score and decision files, evaluates dev and eval', async () => {
    const out = join(dir, 'run2023');
    const res = await runPipeline({ data: data2023, edition: 2023, out, embedder });
    expect(readdirSync(join(out, 'scores', 'dev')).sort()).toEqual(['anomaly_score_fan_section_00_test.csv', 'decision_result_fan_section_00_test.csv']);
    expect(readdirSync(join(out, 'scores', 'eval')).sort()).toEqual(['anomaly_score_grinder_section_00_test.csv', 'decision_result_grinder_section_00_test.csv']);
    const dev = res.splits[0]!.evaluation as Evaluation2023;
    expect(dev.units).toHaveLength(1);
    expect(res.table?.edition).toBe(2023);
    const decisions = readCsv(join(out, 'scores', 'dev', 'decision_result_fan_section_00_test.csv'));
    expect(decisions.every(([, d]) => d === '0' || d === '1')).toBe(true);
  });
});

describe('buildDetector', () => {
  const clip = (path: string, subset: 'train' | 'test', domain: 'source' | 'target', type = 'fan'): EmbeddedClipInfo => ({
    path,
    file: path,
    subset,
    type,
    group: '00',
    domain,
    label: 'normal',
    attributes: null,
  });

  it('2023: a clip scores its cosine distance to the nearer of the source and target banks', () => {
    const clips = [clip('s1', 'train', 'source'), clip('s2', 'train', 'source'), clip('t1', 'train', 'target'), clip('q', 'test', 'target')];
    const e = [Float32Array.of(1, 0), Float32Array.of(0.8, 0.6), Float32Array.of(0, 1), Float32Array.of(0.6, 0.8)];
    const det = buildDetector(2023, clips, e);
    const [s] = det.score([clips[3]!], [e[3]!]);
    // cos(q, s2) = 0.96, cos(q, t1) = 0.8: the source bank wins with distance 0.04
    expect(s!.score).toBeCloseTo(0.04, 6);
    expect(s!.bankDomain).toBe('source');
    expect(s!.neighbour).toBe('s2');
    // leave-one-out training scores: s1 -> min(1 - 0.8, 1 - 0) = 0.2, s2 -> min(0.2, 0.4) = 0.2, t1 -> min(nothing else in target: 0, ...)
    expect(det.trainScores('fan/section_00').map((v) => Number(v.toFixed(6)))).toEqual([0.2, 0.2, 0]);
  });

  it('2020: one bank per (type, ID); a test clip of an ID without training clips is an error naming it', () => {
    const clips = [clip('a', 'train', 'source'), { ...clip('b', 'test', 'source'), group: '02' }];
    const det = buildDetector(2020, clips, [Float32Array.of(1, 0), Float32Array.of(1, 0)]);
    expect(det.groups).toEqual(['fan/id_00']);
    expect(() => det.score([clips[1]!], [Float32Array.of(1, 0)])).toThrow(/fan\/id_02/);
  });
});

describe('EmbeddingCache', () => {
  it('round-trips by content hash and treats a wrong-sized entry as a miss', async () => {
    const root = await mkdtemp(join(tmpdir(), 'anopatch-cache-'));
    const c = new EmbeddingCache(root, 'ab'.repeat(32), 3);
    expect(c.get('cd'.repeat(32))).toBeUndefined();
    c.put('cd'.repeat(32), Float32Array.of(1, 2, 3));
    expect(c.get('cd'.repeat(32))).toEqual(Float32Array.of(1, 2, 3));
    expect(new EmbeddingCache(root, 'ab'.repeat(32), 4).get('cd'.repeat(32))).toBeUndefined();
    await rm(root, { recursive: true, force: true });
  });
});

describe('fbankStatsEmbedder', () => {
  it('gives per-bin mean and std of the normalised fbank', async () => {
    const e = fbankStatsEmbedder();
    expect(e.dim).toBe(256);
    const wave = Float32Array.from({ length: 8000 }, (_, i) => 0.2 * Math.sin(0.3 * i));
    const [v] = await e.embed([wave]);
    const fb = presetFbank(wave, 'beats');
    const bin = 40;
    const col = Array.from({ length: fb.frames }, (_, t) => fb.data[t * fb.bins + bin]!);
    const mean = col.reduce((a, b) => a + b, 0) / col.length;
    const std = Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / col.length);
    expect(v![bin]).toBeCloseTo(mean, 5);
    expect(v![128 + bin]).toBeCloseTo(std, 4);
  });
});

describe('onnxModelEmbedder', () => {
  it('gives the TF.js embeddings to float round-off (ONNX Runtime on the same op-interface forward pass)', async () => {
    const onnx = await onnxModelEmbedder(model, { batchSize: 4, threads: 1 });
    expect(onnx.hash).not.toBe(embedder.hash);
    const waves = [0, 1, 2].map((k) => Float32Array.from({ length: 16000 + 1600 * k }, (_, i) => 0.1 * Math.sin(0.05 * i * (k + 1)) + 0.01 * Math.cos(0.31 * i)));
    const a = await embedder.embed(waves);
    const b = await onnx.embed(waves);
    for (let i = 0; i < waves.length; i++) {
      const max = Math.max(...a[i]!.map(Math.abs));
      const diff = Math.max(...a[i]!.map((v, j) => Math.abs(v - b[i]![j]!)));
      // tolerance: DESIGN.md's backbone parity bound, 1e-3 relative to the largest magnitude
      expect(diff / max).toBeLessThanOrEqual(1e-3);
    }
    await onnx.release();
  });
});

describe('waveform backbones (tiny wav2vec2)', () => {
  it('both engines feed the 16 kHz waveform itself and agree to float round-off', async () => {
    const config = JSON.parse(readFileSync(new URL('../../../../tooling/reference/backbones/wav2vec2/config.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    const wave = AnoPatchModel.create({ backbone: 'wav2vec2', backboneOptions: { config }, attentionChannels: 16, embedDim: 16 }, { seed: 1 });
    const tfjs = await modelEmbedder(wave);
    const onnx = await onnxModelEmbedder(wave, { batchSize: 4, threads: 1 });
    const waves = [0, 1, 2].map((k) => Float32Array.from({ length: 8000 + 800 * k }, (_, i) => 0.1 * Math.sin(0.05 * i * (k + 1)) + 0.01 * Math.cos(0.31 * i)));
    const a = await tfjs.embed(waves);
    const b = await onnx.embed(waves);
    expect(a.map((r) => r.length)).toEqual([16, 16, 16]);
    // the TF.js embedder gives model.embed on the raw waveform, no fbank in between
    expect(Array.from(a[2]!)).toEqual(Array.from(wave.embed([waves[2]!])[0]!));
    for (let i = 0; i < waves.length; i++) {
      const max = Math.max(...a[i]!.map(Math.abs));
      const diff = Math.max(...a[i]!.map((v, j) => Math.abs(v - b[i]![j]!)));
      // tolerance: DESIGN.md's backbone parity bound, 1e-3 relative to the largest magnitude
      expect(diff / max).toBeLessThanOrEqual(1e-3);
    }
    await onnx.release();
    wave.dispose();
  });
});
