import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { auc, pauc, readCsv } from '@anopatch/dcase-eval';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * End to end through the BUILT CLI (dist/bin.js, as users run it) in a subprocess, on a tiny
 * synthetic DCASE 2020 set that `anopatch demo --size tiny` makes. Build first (turbo's test task
 * depends on build).
 */
const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'anopatch-cli-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ANOPATCH_BACKEND: 'wasm' }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

interface DemoJson {
  out: string;
  data: string;
  model: string;
  randomInit: boolean;
  units: { split: 'dev' | 'eval'; type: string; id: string; auc: number; pauc: number }[];
  table: { dev: { mean: number }; eval: { mean: number } };
  baseline: { description: string; units: unknown[]; table: { dev: { mean: number } } };
  splits: { split: string; embeddingsReused: boolean; embeddingsFromCache: number; trainClips: number; testClips: number }[];
  files: string[];
}

const out = join(dir, 'demo');
let demo: DemoJson;

/** True labels of the eval test clips from the ground truth dcase-synth wrote (eval_data_list.csv format). */
function evalLabels(data: string): Map<string, number> {
  const m = new Map<string, number>();
  let type = '';
  for (const row of readCsv(join(data, 'ground_truth', 'eval_data_list.csv'))) {
    if (row.length === 1) type = row[0]!;
    else m.set(`${type}/${row[0]!}`, Number(row[2]));
  }
  return m;
}

beforeAll(async () => {
  expect(existsSync(BIN), `${BIN} missing: build @anopatch/cli first`).toBe(true);
  const r = await cli('demo', '--out', out, '--size', 'tiny', '--types', 'fan,valve', '--json');
  expect(r.stderr).not.toMatch(/Error/);
  expect(r.code).toBe(0);
  demo = JSON.parse(r.stdout) as DemoJson;
});

describe('anopatch demo (built CLI, subprocess)', () => {
  it('writes the data, official score CSVs, result tables and the summary, and says the model is random-init', () => {
    expect(demo.randomInit).toBe(true);
    expect(demo.model).toMatch(/RANDOM INIT/);
    expect(demo.splits.map((s) => [s.split, s.trainClips, s.testClips])).toEqual([
      ['dev', 24, 32],
      ['eval', 24, 32],
    ]);
    for (const f of [
      'summary.html',
      'summary.png',
      'demo.json',
      'run/results.json',
      'run/results.csv',
      'run/results.md',
      'run/results_per_unit.csv',
      'run/clip_scores_dev.csv',
      'run/scores/dev/anomaly_score_fan_id_00.csv',
      'run/scores/dev/anomaly_score_valve_id_02.csv',
      'run/scores/eval/anomaly_score_fan_id_03.csv',
      'data/ground_truth/eval_data_list.csv',
      'baseline/results.md',
      'baseline/scores/dev/anomaly_score_fan_id_00.csv',
    ]) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect([...readFileSync(join(out, 'summary.png')).subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
    const html = readFileSync(join(out, 'summary.html'), 'utf8');
    expect(html).toContain('data:image/png;base64,');
    expect(html).toContain('not the paper');
    expect(demo.baseline.description).toMatch(/no network/);
    expect(demo.baseline.units).toHaveLength(8);
    expect(readFileSync(join(out, 'run', 'results.md'), 'utf8')).toContain('dev mean');
  });

  it('reports per-ID AUC / pAUC equal to a recomputation from its score CSVs and the true labels', () => {
    const labels = evalLabels(demo.data);
    expect(demo.units).toHaveLength(8);
    for (const u of demo.units) {
      const rows = readCsv(join(out, 'run', 'scores', u.split, `anomaly_score_${u.type}_id_${u.id}.csv`));
      expect(rows).toHaveLength(8);
      const y = rows.map(([f]) => (u.split === 'dev' ? (f!.startsWith('anomaly_') ? 1 : 0) : labels.get(`${u.type}/${f!}`)!));
      expect(y.filter((v) => v === 1)).toHaveLength(4);
      const s = rows.map(([, v]) => Number(v));
      expect(Math.abs(u.auc - auc(y, s))).toBeLessThanOrEqual(1e-12);
      expect(Math.abs(u.pauc - pauc(y, s))).toBeLessThanOrEqual(1e-12);
    }
  });

  it('`anopatch evaluate` on the demo CSVs gives the same numbers', async () => {
    const r = await cli('evaluate', '--edition', '2020', '--scores', join(out, 'run', 'scores', 'dev'), '--data', demo.data, '--split', 'dev', '--json');
    expect(r.code).toBe(0);
    const ev = JSON.parse(r.stdout) as { units: { type: string; id: string; auc: number; pauc: number }[] };
    for (const u of ev.units) {
      const mine = demo.units.find((d) => d.split === 'dev' && d.type === u.type && d.id === u.id)!;
      expect(u.auc).toBe(mine.auc);
      expect(u.pauc).toBe(mine.pauc);
    }
  });

  it('a second run reuses the data and the embeddings and reproduces the table', async () => {
    const r = await cli('demo', '--out', out, '--size', 'tiny', '--types', 'fan,valve', '--json');
    expect(r.code).toBe(0);
    const again = JSON.parse(r.stdout) as DemoJson;
    expect(again.splits.every((s) => s.embeddingsReused)).toBe(true);
    expect(again.table).toEqual(demo.table);
  });
});

describe('anopatch embed + score (built CLI)', () => {
  it('embed with the same tiny model hits the content-hash cache and score reproduces the demo CSVs', async () => {
    const emb = join(dir, 'emb');
    const e = await cli('embed', '--data', demo.data, '--edition', '2020', '--tiny', '--out', emb, '--cache', join(out, 'cache'), '--json');
    expect(e.code).toBe(0);
    const ej = JSON.parse(e.stdout) as { splits: { split: string; clips: number; fromCache: number }[] };
    expect(ej.splits).toEqual([
      expect.objectContaining({ split: 'dev', clips: 56, fromCache: 56 }),
      expect.objectContaining({ split: 'eval', clips: 56, fromCache: 56 }),
    ]);
    const sc = join(dir, 'scores');
    const s = await cli('score', '--embeddings', emb, '--out', sc, '--json');
    expect(s.code).toBe(0);
    for (const f of ['dev/anomaly_score_fan_id_00.csv', 'eval/anomaly_score_valve_id_03.csv']) {
      expect(readFileSync(join(sc, f), 'utf8')).toBe(readFileSync(join(out, 'run', 'scores', f), 'utf8'));
    }
  });
});

describe('DCASE 2023 through the CLI: synth -> embed -> score -> evaluate', () => {
  it('writes source/target-bank scores and decisions; the eval split evaluates against the synthetic ground truth', async () => {
    const data = join(dir, 'synth2023');
    const s = await cli('synth', '--edition', '2023', '--out', data, '--types', 'fan', '--eval-types', 'grinder', '--json');
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout)).toMatchObject({ clips: 48, train: 16, test: 32, anomalies: 16 });
    const emb = join(dir, 'emb2023');
    expect((await cli('embed', '--data', data, '--edition', '2023', '--tiny', '--out', emb)).code).toBe(0);
    const sc = join(dir, 'scores2023');
    expect((await cli('score', '--embeddings', emb, '--out', sc)).code).toBe(0);
    for (const f of ['dev/anomaly_score_fan_section_00_test.csv', 'dev/decision_result_fan_section_00_test.csv', 'eval/anomaly_score_grinder_section_00_test.csv']) {
      expect(existsSync(join(sc, f)), f).toBe(true);
    }
    const ev = await cli('evaluate', '--edition', '2023', '--scores', join(sc, 'eval'), '--ground-truth', join(data, 'ground_truth'), '--json');
    expect(ev.code).toBe(0);
    const units = (JSON.parse(ev.stdout) as { units: { type: string; clips: number; aucSource: number; aucTarget: number }[] }).units;
    expect(units.map((u) => [u.type, u.clips])).toEqual([['grinder', 16]]);
    for (const u of units) for (const v of [u.aucSource, u.aucTarget]) expect(v >= 0 && v <= 1).toBe(true);
  });
});

describe('Ctrl-C (SIGINT)', () => {
  it('stops after the batch in flight with exit 130; the same command then resumes from the cache', async () => {
    const target = join(dir, 'interrupted');
    const args = [BIN, 'demo', '--out', target, '--size', 'tiny', '--types', 'fan,valve', '--engine', 'tfjs', '--batch-size', '2', '--json'];
    const first = await new Promise<Run>((resolve) => {
      const child = spawn(process.execPath, args, { env: { ...process.env, ANOPATCH_BACKEND: 'wasm' } });
      let stderr = '';
      let stdout = '';
      let sent = false;
      child.stdout.on('data', (d: Buffer) => (stdout += String(d)));
      child.stderr.on('data', (d: Buffer) => {
        stderr += String(d);
        if (!sent && /embed dev: \d+\/56/.test(stderr)) {
          sent = true;
          child.kill('SIGINT');
        }
      });
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
    expect(first.code).toBe(130);
    expect(first.stderr).toMatch(/interrupted; finished work is saved/);
    expect(existsSync(join(target, 'demo.json'))).toBe(false);
    const again = await cli('demo', '--out', target, '--size', 'tiny', '--types', 'fan,valve', '--engine', 'tfjs', '--json');
    expect(again.code).toBe(0);
    const j = JSON.parse(again.stdout) as DemoJson;
    expect(j.splits[0]!.embeddingsFromCache).toBeGreaterThan(0);
    expect(j.splits[0]!.embeddingsFromCache).toBeLessThan(56);
  });
});

describe('errors: one line, documented exit codes', () => {
  const oneLine = (r: Run): string[] => r.stderr.trim().split('\n');

  it('missing data folder -> exit 1 naming the folder', async () => {
    const r = await cli('embed', '--data', join(dir, 'no-such-data'), '--edition', '2020', '--tiny', '--out', join(dir, 'x'));
    expect(r.code).toBe(1);
    expect(oneLine(r)).toHaveLength(1);
    expect(r.stderr).toMatch(/^anopatch: DataDirError: .*no-such-data: data folder does not exist/);
  });

  it('unknown backbone -> exit 1 listing the known ones; missing checkpoint -> usage error 2', async () => {
    const ckpt = join(dir, 'not-a-checkpoint.pt');
    writeFileSync(ckpt, 'this is not a checkpoint');
    const unknown = await cli('embed', '--data', demo.data, '--edition', '2020', '--backbone', 'nope', '--weights', ckpt, '--out', join(dir, 'y'));
    expect(unknown.code).toBe(1);
    expect(oneLine(unknown)).toHaveLength(1);
    expect(unknown.stderr).toMatch(/unknown backbone 'nope'; known backbones: .*beats/);
    const missing = await cli('embed', '--data', demo.data, '--edition', '2020', '--weights', join(dir, 'absent.pt'), '--out', join(dir, 'y'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/absent\.pt: file not found/);
  });

  it('bad checkpoint -> exit 1, one line naming the file', async () => {
    const ckpt = join(dir, 'not-a-checkpoint.pt');
    const r = await cli('embed', '--data', demo.data, '--edition', '2020', '--weights', ckpt, '--out', join(dir, 'z'));
    expect(r.code).toBe(1);
    expect(oneLine(r)).toHaveLength(1);
    expect(r.stderr).toContain('not-a-checkpoint.pt');
  });

  it('score without embeddings -> exit 1 saying to run embed; a bad flag -> exit 2', async () => {
    mkdirSync(join(dir, 'empty'), { recursive: true });
    const r = await cli('score', '--embeddings', join(dir, 'empty'), '--out', join(dir, 'w'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/run `anopatch embed` first/);
    const bad = await cli('demo', '--size', 'huge');
    expect(bad.code).toBe(2);
  });

  it('--help works (exit 0) and lists the paper defaults', async () => {
    const r = await cli('train', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: anopatch train');
    expect(r.stdout).toMatch(/--lr <x>.*\(default: "1e-4"\)/);
    expect(r.stdout).toContain('--resume');
  });
});
