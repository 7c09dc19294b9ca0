import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { decodeWav, kaldiFbank } from '@anopatch/audio-features';
import { groundTruthFromScan, loadGroundTruth2020, loadGroundTruth2023, scanDataset } from '@anopatch/dcase-eval';
import { afterAll, describe, expect, it } from 'vitest';

import {
  generateDataset,
  machineVoice,
  packageName,
  planDataset,
  renderClip,
  SYNTH_PRESETS,
  SynthConflictError,
  SynthOptionsError,
  type ClipSpec,
  type SynthOptions,
} from './index.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'dcase-synth-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const tiny2020: SynthOptions = { edition: 2020, machineTypes: ['fan', 'valve'], ...SYNTH_PRESETS.tiny };
const tiny2023: SynthOptions = { edition: 2023, machineTypes: ['fan', 'slider'], evalMachineTypes: ['grinder'], ...SYNTH_PRESETS.tiny };

/** Mann-Whitney AUC with ties counted half (the definition sklearn's roc_auc_score agrees with). */
function auc(normal: number[], anomaly: number[]): number {
  let wins = 0;
  for (const a of anomaly) for (const n of normal) wins += a > n ? 1 : a === n ? 0.5 : 0;
  return wins / (normal.length * anomaly.length);
}

describe('@anopatch/dcase-synth', () => {
  it('exports under its package name', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string };
    expect(packageName).toBe(pkg.name);
  });

  it('plans DCASE 2020 names: labelled dev test files, unlabelled shuffled eval test files', () => {
    const clips = planDataset(tiny2020);
    // 2 types x 2 IDs x 2 splits x (6 train + 4 normal + 4 anomaly)
    expect(clips).toHaveLength(2 * 2 * 2 * 14);
    const paths = clips.map((c) => c.path);
    expect(paths).toContain('dev_data/fan/train/normal_id_00_00000005.wav');
    expect(paths).toContain('dev_data/fan/test/anomaly_id_02_00000003.wav');
    expect(paths).toContain('dev_data/valve/test/normal_id_00_00000000.wav');
    expect(paths).toContain('eval_data/fan/train/normal_id_01_00000000.wav');
    expect(paths).toContain('eval_data/fan/test/id_03_00000007.wav');
    expect(paths.filter((p) => p.startsWith('eval_data/fan/test/id_01_'))).toHaveLength(8);
    const evalTest = clips.filter((c) => c.split === 'eval' && c.set === 'test');
    expect(evalTest.filter((c) => c.label === 'anomaly')).toHaveLength(2 * 2 * 4);
    // the shuffle must actually hide labels: not all anomalies after all normals
    const fan01 = evalTest.filter((c) => c.machineType === 'fan' && c.machine === 'id_01').sort((a, b) => a.path.localeCompare(b.path));
    expect(fan01.map((c) => c.label).join()).not.toBe('normal,normal,normal,normal,anomaly,anomaly,anomaly,anomaly');
    expect(new Set(paths).size).toBe(paths.length);
    for (const c of clips) {
      expect(c.anomaly !== undefined).toBe(c.label === 'anomaly');
      if (c.anomaly) expect(c.anomaly.severity).toBeGreaterThanOrEqual(0.05);
    }
  });

  it('plans DCASE 2023 names with domains and attributes', () => {
    const clips = planDataset(tiny2023);
    const paths = clips.map((c) => c.path);
    expect(paths).toContain('dev_data/fan/train/section_00_source_train_normal_0005_spd_93_noise_115.wav');
    expect(paths).toContain('dev_data/fan/train/section_00_target_train_normal_0001_spd_130_noise_300.wav');
    expect(paths).toContain('dev_data/slider/test/section_00_target_test_anomaly_0003_vel_130_load_170.wav');
    expect(paths).toContain('eval_data/grinder/test/section_00_0015.wav');
    const target = clips.filter((c) => c.domain === 'target');
    expect(target.every((c) => c.condition.speed > 1.2)).toBe(true);
    // 3 types x (6 source + 2 target train + 2 domains x 8 test)
    expect(clips).toHaveLength(3 * (6 + 2 + 16));
  });

  it('rejects options that describe no dataset', () => {
    expect(() => planDataset({ ...tiny2020, trainPerMachine: 0 })).toThrow(SynthOptionsError);
    expect(() => planDataset({ ...tiny2020, clipSeconds: 0 })).toThrow(/clipSeconds/);
    expect(() => planDataset({ ...tiny2020, edition: 2021 as 2020 })).toThrow(/edition/);
  });

  it('renders deterministically, and IDs / domains / anomalies change the sound', () => {
    const v0 = machineVoice(0, 'fan', 'dev/fan/id_00');
    const v2 = machineVoice(0, 'fan', 'dev/fan/id_02');
    expect(v0.f0).not.toBe(v2.f0);
    const base = { voice: v0, condition: { speed: 1, load: 1, background: 1 }, seconds: 0.5, seed: 7 };
    const a = renderClip(base);
    expect(a).toHaveLength(8000);
    expect(renderClip(base)).toEqual(a);
    expect(a.every((x) => Number.isFinite(x) && Math.abs(x) < 1)).toBe(true);
    const anomalous = renderClip({ ...base, anomaly: { kind: 'bearing-tone', severity: 1 } });
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - anomalous[i]!));
    expect(diff).toBeGreaterThan(0.01);
    for (const family of ['rotating', 'pump', 'slider', 'valve', 'motor'] as const) {
      const v = { ...v0, family };
      const x = renderClip({ ...base, voice: v, condition: { speed: 1.3, load: 1.5, background: 3 }, anomaly: { kind: 'rattle', severity: 0.5 } });
      let s = 0;
      for (const y of x) s += y * y;
      // the level is normalised to the voice's RMS (+-10% per clip, 3 sigma here)
      expect(Math.sqrt(s / x.length) / v.level).toBeGreaterThan(0.7);
      expect(Math.sqrt(s / x.length) / v.level).toBeLessThan(1.4);
    }
  });

  it('writes a DCASE 2020 set with the official eval_data_list.csv, byte-identical on a second run, cached on a third', async () => {
    const opts: SynthOptions = { ...tiny2020, machineTypes: ['valve'], idsPerType: 1, trainPerMachine: 2, testNormalPerMachine: 2, testAnomalyPerMachine: 2, clipSeconds: 0.5 };
    const [d1, d2] = [await tempDir(), await tempDir()];
    const progress: number[] = [];
    const g1 = await generateDataset(d1, opts, { onProgress: (done) => progress.push(done) });
    expect(g1.cached).toBe(false);
    expect(progress.at(-1)).toBe(12);
    await generateDataset(d2, opts);
    expect(await readdir(join(d1, 'dev_data/valve/test'))).toEqual([
      'anomaly_id_00_00000000.wav',
      'anomaly_id_00_00000001.wav',
      'normal_id_00_00000000.wav',
      'normal_id_00_00000001.wav',
    ]);
    for (const c of g1.clips) expect(await readFile(join(d1, c.path))).toEqual(await readFile(join(d2, c.path)));
    const wav = decodeWav(await readFile(join(d1, 'dev_data/valve/train/normal_id_00_00000000.wav')));
    expect(wav.sampleRate).toBe(16000);
    expect(wav.channels[0]).toHaveLength(8000);
    const list = (await readFile(join(d1, 'ground_truth/eval_data_list.csv'), 'utf8')).trim().split('\n');
    expect(list[0]).toBe('valve');
    expect(list).toHaveLength(5);
    const evalTests = g1.clips.filter((c) => c.split === 'eval' && c.set === 'test');
    for (const line of list.slice(1)) {
      const [file, original, label] = line.split(',');
      const clip = evalTests.find((c) => c.path.endsWith(`/${file}`))!;
      expect(clip.labelledName).toBe(original);
      expect(label).toBe(clip.label === 'anomaly' ? '1' : '0');
    }
    expect((await generateDataset(d1, opts)).cached).toBe(true);
    await expect(generateDataset(d1, { ...opts, seed: 5 })).rejects.toThrow(SynthConflictError);
    // overwrite replaces the old set entirely: a smaller set leaves none of the old clips behind
    const smaller = await generateDataset(d1, { ...opts, trainPerMachine: 1 }, { overwrite: true });
    expect(await readdir(join(d1, 'dev_data/valve/train'))).toEqual(['normal_id_00_00000000.wav']);
    expect(smaller.clips).toHaveLength(10);
    expect(() => JSON.parse(readFileSync(join(d1, 'manifest.json'), 'utf8')) as unknown).not.toThrow();
  });

  it('writes DCASE 2023 attributes_00.csv and the evaluator ground-truth files', async () => {
    const d = await tempDir();
    const opts: SynthOptions = { ...tiny2023, machineTypes: ['fan'], evalMachineTypes: ['grinder'], trainPerMachine: 2, targetTrainPerSection: 1, testNormalPerMachine: 1, testAnomalyPerMachine: 1, clipSeconds: 0.25 };
    const g = await generateDataset(d, opts);
    const attrs = (await readFile(join(d, 'dev_data/fan/attributes_00.csv'), 'utf8')).trim().split('\n');
    expect(attrs[0]).toBe('file_name,d1p,d1v,d2p,d2v');
    expect(attrs).toContain('fan/train/section_00_source_train_normal_0001_spd_93_noise_115.csv'.replace('.csv', '.wav') + ',spd,93,noise,115');
    const gt = (await readFile(join(d, 'ground_truth/ground_truth_data/ground_truth_grinder_section_00_test.csv'), 'utf8')).trim().split('\n');
    const dom = (await readFile(join(d, 'ground_truth/ground_truth_domain/ground_truth_grinder_section_00_test.csv'), 'utf8')).trim().split('\n');
    expect(gt).toHaveLength(4);
    const tests = g.clips.filter((c) => c.split === 'eval' && c.set === 'test');
    for (const [i, line] of gt.entries()) {
      const [file, label] = line.split(',');
      const clip = tests.find((c) => c.path.endsWith(`/${file}`))!;
      expect(label).toBe(clip.label === 'anomaly' ? '1' : '0');
      expect(dom[i]).toBe(`${file},${clip.domain === 'target' ? 1 : 0}`);
    }
  });

  it('is hard enough: a log-mel nearest-neighbour detector separates anomalies well but not perfectly', () => {
    // fan and valve, 2 IDs each, 30 train and 30 + 30 test clips of 1 s: rendered in memory, not written
    const clips = planDataset({ edition: 2020, machineTypes: ['fan', 'valve'], splits: ['dev'], idsPerType: 2, trainPerMachine: 30, testNormalPerMachine: 30, testAnomalyPerMachine: 30, clipSeconds: 1 });
    const feature = (c: ClipSpec): Float64Array => {
      const voice = machineVoice(0, c.machineType, `${c.split}/${c.machineType}/${c.machine}`);
      const wave = renderClip({ voice, condition: c.condition, seconds: 1, seed: c.seed, ...(c.anomaly ? { anomaly: c.anomaly } : {}) });
      const fb = kaldiFbank(wave, { numMelBins: 64, waveformScale: 32768 });
      const mean = new Float64Array(fb.bins * 2);
      for (let t = 0; t < fb.frames; t++) for (let b = 0; b < fb.bins; b++) mean[b]! += fb.data[t * fb.bins + b]! / fb.frames;
      for (let t = 0; t < fb.frames; t++) for (let b = 0; b < fb.bins; b++) mean[fb.bins + b]! += (fb.data[t * fb.bins + b]! - mean[b]!) ** 2 / fb.frames;
      return mean;
    };
    const aucs: number[] = [];
    for (const type of ['fan', 'valve']) {
      for (const id of ['id_00', 'id_02']) {
        const mine = clips.filter((c) => c.machineType === type && c.machine === id);
        const bank = mine.filter((c) => c.set === 'train').map(feature);
        const score = (c: ClipSpec): number => {
          const f = feature(c);
          return Math.min(...bank.map((b) => b.reduce((s, v, i) => s + (v - f[i]!) ** 2, 0)));
        };
        const test = mine.filter((c) => c.set === 'test');
        aucs.push(auc(test.filter((c) => c.label === 'normal').map(score), test.filter((c) => c.label === 'anomaly').map(score)));
      }
    }
    // measured 0.73 / 0.82 / 0.65 / 0.84 (fan 00, 02, valve 00, 02) at seed 0; a learned embedding should beat it
    for (const a of aucs) {
      expect(a).toBeGreaterThan(0.55);
      expect(a).toBeLessThan(0.98);
    }
  });
});

describe('dcase-synth sets read back through @anopatch/dcase-eval', () => {
  it('DCASE 2020: scanDataset finds every clip with its ID and label; the eval ground truth loads and matches the plan', async () => {
    const d = await tempDir();
    const g = await generateDataset(d, { ...tiny2020, trainPerMachine: 2, testNormalPerMachine: 2, testAnomalyPerMachine: 2, clipSeconds: 0.25 });
    for (const split of ['dev', 'eval'] as const) {
      const scan = scanDataset(d, { edition: 2020, split });
      expect(scan.unknown).toEqual([]);
      const planned = g.clips.filter((c) => c.split === split);
      expect(scan.records).toHaveLength(planned.length);
      for (const r of scan.records) {
        const clip = planned.find((c) => c.path === `${split}_data/${r.type}/${r.subset}/${r.file}`)!;
        expect(`id_${r.id}`).toBe(clip.machine);
        expect(r.label).toBe(split === 'eval' && r.subset === 'test' ? 'unknown' : clip.label);
      }
    }
    const dev = groundTruthFromScan(scanDataset(d, { edition: 2020, split: 'dev' }));
    expect(dev.units.map((u) => `${u.type}/${u.group}`).sort()).toEqual(['fan/00', 'fan/02', 'valve/00', 'valve/02']);
    const truth = loadGroundTruth2020(join(d, 'ground_truth'));
    expect(truth.units.map((u) => `${u.type}/${u.group}`).sort()).toEqual(['fan/01', 'fan/03', 'valve/01', 'valve/03']);
    for (const u of truth.units) {
      for (const t of u.clips) {
        const clip = g.clips.find((c) => c.path === `eval_data/${u.type}/test/${t.file}`)!;
        expect(t.label).toBe(clip.label === 'anomaly' ? 1 : 0);
      }
    }
  });

  it('DCASE 2023: scanDataset reads sections, domains and attributes; the evaluator ground truth loads and matches the plan', async () => {
    const d = await tempDir();
    const g = await generateDataset(d, { ...tiny2023, trainPerMachine: 2, targetTrainPerSection: 1, testNormalPerMachine: 2, testAnomalyPerMachine: 1, clipSeconds: 0.25 });
    const dev = scanDataset(d, { edition: 2023, split: 'dev' });
    expect(dev.unknown).toEqual([]);
    expect(dev.summary.types.map((t) => t.type).sort()).toEqual(['fan', 'slider']);
    for (const r of dev.records) {
      const clip = g.clips.find((c) => c.path === `dev_data/${r.type}/${r.subset}/${r.file}`)!;
      expect(r.section).toBe('00');
      expect(r.domain).toBe(clip.domain);
      expect(r.label).toBe(clip.label);
      expect(r.attributePairs).toEqual(clip.attributes);
    }
    const evalScan = scanDataset(d, { edition: 2023, split: 'eval' });
    expect(evalScan.unknown).toEqual([]);
    expect(evalScan.records.filter((r) => r.subset === 'test').every((r) => r.label === 'unknown')).toBe(true);
    const truth = loadGroundTruth2023(join(d, 'ground_truth'));
    expect(truth.units).toHaveLength(1);
    const unit = truth.units[0]!;
    expect(unit.type).toBe('grinder');
    expect(unit.clips).toHaveLength(6);
    for (const t of unit.clips) {
      const clip = g.clips.find((c) => c.path === `eval_data/grinder/test/${t.file}`)!;
      expect(t.label).toBe(clip.label === 'anomaly' ? 1 : 0);
      expect(t.domain).toBe(clip.domain);
      expect(unit.aliases.get(clip.labelledName)).toBe(t.file);
    }
  });
});
