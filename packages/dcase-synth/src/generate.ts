import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { writeWav } from '@anopatch/audio-features';

import { SynthConflictError } from './errors.js';
import { planDataset, type ClipSpec, type SynthOptions } from './layout.js';
import { machineVoice, renderClip, type MachineVoice } from './models.js';

/** Bump when the sound models change, so a cached set made by another version is not reused. */
export const GENERATOR_VERSION = 1;
export const STATE_FILE = 'dcase-synth.json';

export interface GenerateOptions {
  /** Replace a folder that holds a different synthetic set (default false: refuse). */
  overwrite?: boolean;
  onProgress?: (done: number, total: number, clip: ClipSpec) => void;
  /** Stops between clips (the clips written so far stay; a rerun continues). */
  signal?: AbortSignal;
}

export interface SynthState {
  generator: '@anopatch/dcase-synth';
  version: number;
  options: Required<Pick<SynthOptions, 'edition' | 'seed'>> & SynthOptions;
  complete: boolean;
  counts?: { clips: number; train: number; test: number; anomalies: number };
}

export interface GeneratedDataset {
  root: string;
  clips: ClipSpec[];
  /** True when the whole set was already there and nothing was written. */
  cached: boolean;
}

async function writeTextAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

function canonicalOptions(options: SynthOptions): SynthState['options'] {
  const o = { ...options, seed: options.seed ?? 0 };
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b))) as unknown as SynthState['options'];
}

function csvCell(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Official side files: 2020 eval_data_list.csv; 2023 attributes_00.csv and the evaluator's ground-truth folders. */
function sideFiles(options: SynthOptions, clips: ClipSpec[]): Map<string, string> {
  const files = new Map<string, string>();
  const byType = new Map<string, ClipSpec[]>();
  for (const c of clips) {
    const key = `${c.split}/${c.machineType}`;
    byType.set(key, [...(byType.get(key) ?? []), c]);
  }
  const base = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
  if (options.edition === 2020) {
    // y-kawagu/dcase2020_task2_evaluator format: a one-column machine-type line, then file,original name,label
    const lines: string[] = [];
    for (const [key, list] of byType) {
      if (!key.startsWith('eval/')) continue;
      lines.push(key.slice(5));
      for (const c of list.filter((x) => x.set === 'test').sort((a, b) => a.path.localeCompare(b.path))) {
        lines.push(`${base(c.path)},${c.labelledName},${c.label === 'anomaly' ? 1 : 0}`);
      }
    }
    if (lines.length > 0) files.set('ground_truth/eval_data_list.csv', lines.join('\n') + '\n');
  } else {
    for (const [key, list] of byType) {
      const [split, type] = key.split('/') as [string, string];
      const width = Math.max(0, ...list.map((c) => c.attributes.length));
      const header = ['file_name', ...Array.from({ length: width }, (_, i) => [`d${i + 1}p`, `d${i + 1}v`]).flat()];
      const row = (c: ClipSpec, hide: boolean): string =>
        [`${type}/${c.set}/${base(c.path)}`, ...Array.from({ length: width }, (_, i) => (hide ? ['', ''] : (c.attributes[i] ?? ['', '']))).flat()].map(csvCell).join(',');
      const sections = [...new Set(list.map((c) => c.machine))];
      for (const section of sections) {
        const num = section.slice('section_'.length);
        const inSection = list.filter((c) => c.machine === section);
        const hidden = split === 'eval';
        files.set(`${split}_data/${type}/attributes_${num}.csv`, [header.join(','), ...inSection.map((c) => row(c, hidden && c.set === 'test'))].join('\n') + '\n');
        if (hidden) {
          const tests = inSection.filter((c) => c.set === 'test').sort((a, b) => a.path.localeCompare(b.path));
          const name = `ground_truth_${type}_${section}_test.csv`;
          files.set(`ground_truth/ground_truth_data/${name}`, tests.map((c) => `${base(c.path)},${c.label === 'anomaly' ? 1 : 0}`).join('\n') + '\n');
          files.set(`ground_truth/ground_truth_domain/${name}`, tests.map((c) => `${base(c.path)},${c.domain === 'target' ? 1 : 0}`).join('\n') + '\n');
          files.set(`ground_truth/ground_truth_attributes/${name}`, tests.map((c) => `${base(c.path)},${c.labelledName.replace(/\.wav$/, '')}`).join('\n') + '\n');
        }
      }
    }
  }
  const manifest = clips.map((c) => ({
    path: c.path,
    split: c.split,
    set: c.set,
    machineType: c.machineType,
    machine: c.machine,
    domain: c.domain,
    attributes: Object.fromEntries(c.attributes),
    label: c.label,
    labelledName: c.labelledName,
    ...(c.anomaly ? { anomaly: c.anomaly.kind, severity: Number(c.anomaly.severity.toFixed(4)) } : {}),
  }));
  files.set('manifest.json', JSON.stringify({ edition: options.edition, clips: manifest }, null, 1) + '\n');
  return files;
}

/**
 * Write a synthetic DCASE dataset under `root`. Deterministic: the same options give byte-identical files.
 * Resumable: clips already on disk are kept, so an interrupted run continues where it stopped, and a
 * finished set with the same options is returned at once (`cached: true`).
 */
export async function generateDataset(root: string, options: SynthOptions, run: GenerateOptions = {}): Promise<GeneratedDataset> {
  const clips = planDataset(options);
  const wanted: SynthState = { generator: '@anopatch/dcase-synth', version: GENERATOR_VERSION, options: canonicalOptions(options), complete: false };
  const statePath = join(root, STATE_FILE);
  if (existsSync(statePath)) {
    const have = JSON.parse(await readFile(statePath, 'utf8')) as SynthState;
    const same = have.version === wanted.version && JSON.stringify(have.options) === JSON.stringify(wanted.options);
    if (same && have.complete) return { root, clips, cached: true };
    if (!same && !run.overwrite) {
      throw new SynthConflictError(statePath, 'holds a synthetic set made with other options; choose another folder or pass overwrite (--force)');
    }
    if (!same) {
      // the state file proves the folder is ours: clear the old set so none of its clips linger
      for (const entry of ['dev_data', 'eval_data', 'ground_truth', 'manifest.json']) await rm(join(root, entry), { recursive: true, force: true });
    }
  } else if (existsSync(root) && (await readdir(root)).length > 0 && !run.overwrite) {
    throw new SynthConflictError(root, 'is not empty and is not a dcase-synth folder; choose an empty or new folder');
  }
  await mkdir(root, { recursive: true });
  await writeTextAtomic(statePath, JSON.stringify(wanted, null, 1) + '\n');
  const sampleRate = options.sampleRate ?? 16000;
  const voices = new Map<string, MachineVoice>();
  const expectedBytes = 44 + 2 * Math.round(options.clipSeconds * sampleRate);
  const madeDirs = new Set<string>();
  for (const [i, clip] of clips.entries()) {
    run.signal?.throwIfAborted();
    const file = join(root, clip.path);
    const done = await stat(file).then((s) => s.size === expectedBytes, () => false);
    if (!done || run.overwrite) {
      const key = `${clip.split}/${clip.machineType}/${clip.machine}`;
      let voice = voices.get(key);
      if (!voice) {
        voice = machineVoice(wanted.options.seed, clip.machineType, key);
        voices.set(key, voice);
      }
      const samples = renderClip({ voice, condition: clip.condition, seconds: options.clipSeconds, sampleRate, seed: clip.seed, ...(clip.anomaly ? { anomaly: clip.anomaly } : {}) });
      const dir = dirname(file);
      if (!madeDirs.has(dir)) {
        await mkdir(dir, { recursive: true });
        madeDirs.add(dir);
      }
      await writeWav(file, { sampleRate, channels: [samples] }, { bitDepth: 16 });
    }
    run.onProgress?.(i + 1, clips.length, clip);
  }
  for (const [rel, text] of sideFiles(options, clips)) await writeTextAtomic(join(root, rel), text);
  const complete: SynthState = {
    ...wanted,
    complete: true,
    counts: {
      clips: clips.length,
      train: clips.filter((c) => c.set === 'train').length,
      test: clips.filter((c) => c.set === 'test').length,
      anomalies: clips.filter((c) => c.label === 'anomaly').length,
    },
  };
  await writeTextAtomic(statePath, JSON.stringify(complete, null, 1) + '\n');
  return { root, clips, cached: false };
}
