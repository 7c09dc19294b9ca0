import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadAudio16k, presetFbank } from '@anopatch/audio-features';
import { readNpy } from '@anopatch/checkpoint';
import { auc, pauc } from '@anopatch/dcase-eval';
import { generateDataset } from '@anopatch/dcase-synth';
import { buildOnnxModel, OnnxSession } from '@anopatch/onnx-engine';
import { createTfParams, initParamData, SeededRandom, TfOps } from '@anopatch/runtime';
import { BEATS_MEL_BINS, BeatsBackbone, parseBeatsConfig, type WeightRecord } from '@anopatch/vit-backbone';
import * as tf from '@tensorflow/tfjs-core';

/** 10 s at 16 kHz with Kaldi framing (25 ms / 10 ms, snip_edges): 1 + (160000 - 400) / 160. */
export const FRAMES_10S = 998;

export interface OnnxSpeedModel {
  /** Label in the report, e.g. 'ort-ours', 'ort-official'. */
  name: string;
  /** An .onnx file, or its bytes; one float32 input [B, frames, 128], first output compared. */
  model: string | Uint8Array;
}

export interface OnnxSpeedOptions {
  /** Models to time on the same input; the first is the reference for the output comparison. */
  models: readonly OnnxSpeedModel[];
  /** Fbank frames per clip (default a 10 s clip). */
  frames?: number;
  /** Clips per run (equal length). Default 1. */
  batch?: number;
  /** Timed runs per model (default 5) after `warmup` untimed ones (default 1). */
  iterations?: number;
  warmup?: number;
  /** Intra-op threads (default: all cores). */
  threads?: number;
  /** Called after each timed run (progress lines). */
  onProgress?: (model: string, iteration: number, seconds: number) => void;
}

export interface OnnxSpeedTiming {
  name: string;
  secondsPerRun: number[];
  medianSeconds: number;
  /** batch / median seconds. */
  clipsPerSecond: number;
  /** max |output - reference output| and the same relative to max |reference|. */
  maxAbsDiff: number;
  relToMax: number;
  outputShape: number[];
  executionProvider: string;
}

export interface OnnxSpeedResult {
  frames: number;
  batch: number;
  threads: number;
  timings: OnnxSpeedTiming[];
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A deterministic fbank-like input (values in the range normalised BEATs fbanks take). */
export function syntheticFbank(frames: number, batch = 1, mel = 128): Float32Array {
  const x = new Float32Array(batch * frames * mel);
  for (let i = 0; i < x.length; i++) x[i] = 0.5 * Math.sin(i * 0.37) + 0.25 * Math.cos(i * 0.011);
  return x;
}

/**
 * Times ONNX Runtime on several exported models with the same input (default: one 10 s clip) and
 * reports clips/s. Runs are interleaved model by model so that load from other processes on a shared
 * machine falls on every model alike. No side effects beyond loading the models.
 */
export async function measureOnnxSpeed(options: OnnxSpeedOptions): Promise<OnnxSpeedResult> {
  const frames = options.frames ?? FRAMES_10S;
  const batch = options.batch ?? 1;
  const iterations = options.iterations ?? 5;
  const warmup = options.warmup ?? 1;
  const threads = options.threads ?? availableParallelism();
  const input = { shape: [batch, frames, 128], data: syntheticFbank(frames, batch) };

  const sessions: OnnxSession[] = [];
  try {
    for (const m of options.models) sessions.push(await OnnxSession.create(m.model, { threads }));
    const outputs: { shape: number[]; data: ArrayLike<number> }[] = [];
    for (const s of sessions) {
      let out: { shape: readonly number[]; data: ArrayLike<number> } | undefined;
      for (let w = 0; w < Math.max(1, warmup); w++) {
        const r = await s.run({ [s.inputNames[0]!]: input }, [s.outputNames[0]!]);
        out = r[s.outputNames[0]!];
      }
      outputs.push({ shape: [...out!.shape], data: out!.data });
    }
    const times: number[][] = sessions.map(() => []);
    for (let it = 0; it < iterations; it++) {
      for (let k = 0; k < sessions.length; k++) {
        const s = sessions[k]!;
        const t0 = performance.now();
        await s.run({ [s.inputNames[0]!]: input }, [s.outputNames[0]!]);
        const sec = (performance.now() - t0) / 1000;
        times[k]!.push(sec);
        options.onProgress?.(options.models[k]!.name, it, sec);
      }
    }
    const ref = outputs[0]!;
    let refMax = 0;
    for (let i = 0; i < ref.data.length; i++) refMax = Math.max(refMax, Math.abs(ref.data[i]!));
    const timings = options.models.map((m, k) => {
      const out = outputs[k]!;
      let diff = Number.POSITIVE_INFINITY;
      if (out.data.length === ref.data.length) {
        diff = 0;
        for (let i = 0; i < ref.data.length; i++) diff = Math.max(diff, Math.abs(out.data[i]! - ref.data[i]!));
      }
      const med = median(times[k]!);
      return {
        name: m.name,
        secondsPerRun: times[k]!,
        medianSeconds: med,
        clipsPerSecond: batch / med,
        maxAbsDiff: diff,
        relToMax: diff / Math.max(refMax, Number.MIN_VALUE),
        outputShape: out.shape,
        executionProvider: sessions[k]!.executionProvider,
      };
    });
    return { frames, batch, threads, timings };
  } finally {
    for (const s of sessions) await s.release();
  }
}

/** Parameters saved by tooling/reference/onnx/export_official_beats.py: `<dir>/<key>.npy` listed in names.json. */
export function readNpyParams(dir: string): { cfg: Record<string, unknown>; tensors: Map<string, WeightRecord> } {
  const index = JSON.parse(readFileSync(join(dir, 'names.json'), 'utf8')) as { cfg: Record<string, unknown>; params: { name: string }[] };
  const tensors = new Map<string, WeightRecord>();
  for (const { name } of index.params) {
    const a = readNpy(readFileSync(join(dir, `${name}.npy`)));
    tensors.set(name, { dtype: a.dtype, shape: a.shape, data: a.data });
  }
  return { cfg: index.cfg, tensors };
}

/** Our ONNX lowering of BEATs (fbank [batch, frames, 128] -> tokens) from official-named tensors and cfg. */
export function exportOursBeats(
  cfg: Record<string, unknown>,
  tensors: ReadonlyMap<string, WeightRecord>,
  linearPrecision: 'float32' | 'int8' = 'float32',
  quantizeParam?: (name: string) => boolean,
): Uint8Array {
  const backbone = new BeatsBackbone(parseBeatsConfig(cfg).config);
  const { weights } = backbone.loadWeights(tensors, { source: 'bench BEATs weights' });
  return buildOnnxModel({
    weights,
    linearPrecision,
    // as `anopatch export --precision int8`: the front-end projections stay float
    quantizeParam: quantizeParam ?? ((name) => name.startsWith('encoder.layers.')),
    inputs: [{ name: 'fbank', shape: ['batch', 'frames', BEATS_MEL_BINS] }],
    forward: (ops, [x]) => ({ tokens: backbone.forward(ops, x!, { training: false }) }),
  }).toBytes();
}

/** Seeded random weights of a BEATs config under the official state-dict names (speed runs need the shape, not the values). */
export function randomBeatsTensors(cfg: Record<string, unknown>, seed = 0): Map<string, WeightRecord> {
  const rng = new SeededRandom(seed);
  const tensors = new Map<string, WeightRecord>();
  for (const spec of new BeatsBackbone(parseBeatsConfig(cfg).config).paramSpecs()) {
    tensors.set(spec.name, { dtype: 'float32', shape: spec.shape, data: initParamData(spec, rng) });
  }
  return tensors;
}

export interface PytorchTimingOptions {
  /** Python with Debian's python3-torch (default /usr/bin/python3). */
  python?: string;
  /** tooling/reference/onnx/export_official_beats.py */
  script: string;
  /** Folder with the official BEATs.py / backbone.py / modules.py. */
  beatsDir: string;
  threads?: number;
  iterations?: number;
}

/** PyTorch CPU (eager, official code, same iter3 architecture) on a 10 s clip, via the reference script's --time-only mode. */
export function measurePytorchCpu(options: PytorchTimingOptions): { clipsPerSecond: number; medianSeconds: number; secondsPerRun: number[]; torch: string } {
  const dir = mkdtempSync(join(tmpdir(), 'anopatch-pt-'));
  try {
    const out = join(dir, 'timings.json');
    const args = [
      options.script,
      '--beats-dir',
      options.beatsDir,
      '--timings',
      out,
      '--time-only',
      '--threads',
      String(options.threads ?? availableParallelism()),
      '--iters',
      String(options.iterations ?? 3),
      '--warmup',
      '1',
    ];
    execFileSync(options.python ?? '/usr/bin/python3', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    const r = JSON.parse(readFileSync(out, 'utf8')) as { torch: string; pytorch_cpu_seconds_per_clip: number[]; pytorch_cpu_median_seconds: number };
    return {
      torch: r.torch,
      secondsPerRun: r.pytorch_cpu_seconds_per_clip,
      medianSeconds: r.pytorch_cpu_median_seconds,
      clipsPerSecond: 1 / r.pytorch_cpu_median_seconds,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** TF.js on the current backend (wasm here) running the same BEATs forward (our op interface, TfOps lowering). */
export async function measureTfjsBeats(
  cfg: Record<string, unknown>,
  tensors: ReadonlyMap<string, WeightRecord>,
  options: { frames?: number; iterations?: number } = {},
): Promise<{ backend: string; clipsPerSecond: number; medianSeconds: number; secondsPerRun: number[] }> {
  const frames = options.frames ?? FRAMES_10S;
  const backbone = new BeatsBackbone(parseBeatsConfig(cfg).config);
  const { weights } = backbone.loadWeights(tensors, { source: 'bench BEATs weights' });
  const params = createTfParams(backbone.paramSpecs(), { loaded: weights, trainable: false });
  const ops = new TfOps(params);
  const input = tf.tensor(syntheticFbank(frames), [1, frames, BEATS_MEL_BINS]);
  const run = async () => {
    const y = tf.tidy(() => backbone.forward(ops, input, { training: false }));
    await y.data();
    y.dispose();
  };
  try {
    await run();
    const times: number[] = [];
    for (let i = 0; i < (options.iterations ?? 2); i++) {
      const t0 = performance.now();
      await run();
      times.push((performance.now() - t0) / 1000);
    }
    const med = median(times);
    return { backend: tf.getBackend(), clipsPerSecond: 1 / med, medianSeconds: med, secondsPerRun: times };
  } finally {
    input.dispose();
    for (const p of params.values()) p.dispose();
  }
}

export interface SpeedComparisonOptions {
  /** Output folder of tooling/reference/onnx/export_official_beats.py: beats_official.onnx and params/. */
  referenceDir: string;
  /** Also time our int8 export. Default true. */
  int8?: boolean;
  /** PyTorch CPU through the reference script (needs python3-torch and the official code). */
  pytorch?: PytorchTimingOptions;
  /** TF.js on the current backend (call initBackend first). Default true. */
  tfjs?: boolean;
  iterations?: number;
  threads?: number;
  onProgress?: (line: string) => void;
}

export interface SpeedRow {
  engine: string;
  clipsPerSecond: number;
  medianSeconds: number;
  /** max |tokens - ORT-official tokens| / max |ORT-official tokens| (ORT rows only). */
  relToMaxVsOfficial?: number;
  note?: string;
}

/**
 * Full-size BEATs (iter3 architecture, the reference script's seeded random weights), one 10 s clip:
 * ORT on our export, ORT on the official torch.onnx export, optionally our int8 export, PyTorch CPU
 * and TF.js — all in one run on this machine.
 */
export async function compareBeatsEngines(options: SpeedComparisonOptions): Promise<{ threads: number; rows: SpeedRow[] }> {
  const log = options.onProgress ?? (() => undefined);
  const threads = options.threads ?? availableParallelism();
  const { cfg, tensors } = readNpyParams(join(options.referenceDir, 'params'));
  log('building ORT-ours (fp32) from the same weights');
  const models: OnnxSpeedModel[] = [
    { name: 'ort-official', model: join(options.referenceDir, 'beats_official.onnx') },
    { name: 'ort-ours', model: exportOursBeats(cfg, tensors) },
  ];
  if (options.int8 ?? true) models.push({ name: 'ort-ours-int8', model: exportOursBeats(cfg, tensors, 'int8') });
  const ort = await measureOnnxSpeed({
    models,
    threads,
    iterations: options.iterations ?? 5,
    onProgress: (m, i, s) => log(`${m} run ${i + 1}: ${s.toFixed(3)} s`),
  });
  const rows: SpeedRow[] = ort.timings.map((t) => ({
    engine: t.name,
    clipsPerSecond: t.clipsPerSecond,
    medianSeconds: t.medianSeconds,
    relToMaxVsOfficial: t.relToMax,
  }));
  if (options.pytorch) {
    log('timing PyTorch CPU');
    const pt = measurePytorchCpu({ ...options.pytorch, threads, iterations: options.iterations ?? 3 });
    rows.push({ engine: 'pytorch-cpu', clipsPerSecond: pt.clipsPerSecond, medianSeconds: pt.medianSeconds, note: `torch ${pt.torch}, ${threads} threads` });
  }
  if (options.tfjs ?? true) {
    log('timing TF.js');
    const t = await measureTfjsBeats(cfg, tensors, { iterations: 2 });
    rows.push({ engine: `tfjs-${t.backend}`, clipsPerSecond: t.clipsPerSecond, medianSeconds: t.medianSeconds });
  }
  return { threads, rows };
}

export interface Int8AucOptions {
  /** Output folder of the reference script (params/ for the full-size BEATs weights). */
  referenceDir: string;
  /** Where the synthetic DCASE 2020 set is written (reused when already there). */
  datasetDir: string;
  machineTypes?: string[];
  trainPerMachine?: number;
  testPerClass?: number;
  clipSeconds?: number;
  threads?: number;
  onProgress?: (line: string) => void;
}

export interface Int8AucRow {
  machineType: string;
  aucFp32: number;
  aucInt8: number;
  paucFp32: number;
  paucInt8: number;
}

function poolMeanStd(tokens: Float32Array, p: number, c: number): Float32Array {
  const out = new Float32Array(2 * c);
  for (let j = 0; j < c; j++) {
    let s = 0;
    for (let i = 0; i < p; i++) s += tokens[i * c + j]!;
    const m = s / p;
    let v = 0;
    for (let i = 0; i < p; i++) v += (tokens[i * c + j]! - m) ** 2;
    out[j] = m;
    out[c + j] = Math.sqrt(v / p);
  }
  return out;
}

function cosineDistance(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return 1 - ab / Math.sqrt(aa * bb);
}

/**
 * What int8 costs in detection quality: the same full-size BEATs (reference weights) exported fp32
 * and int8, tokens mean+std pooled, k=1 cosine KNN against each machine's normal training clips,
 * AUC / pAUC per machine type on a dcase-synth DCASE 2020 set. The weights are random (no pretrained
 * checkpoint is available offline), so absolute AUCs mean little; the fp32 -> int8 change is the point.
 */
export async function measureInt8AucChange(options: Int8AucOptions): Promise<Int8AucRow[]> {
  const log = options.onProgress ?? (() => undefined);
  const machineTypes = options.machineTypes ?? ['fan', 'valve'];
  const ds = await generateDataset(options.datasetDir, {
    edition: 2020,
    machineTypes,
    splits: ['dev'],
    idsPerType: 1,
    trainPerMachine: options.trainPerMachine ?? 10,
    testNormalPerMachine: options.testPerClass ?? 8,
    testAnomalyPerMachine: options.testPerClass ?? 8,
    clipSeconds: options.clipSeconds ?? 2,
  });
  const { cfg, tensors } = readNpyParams(join(options.referenceDir, 'params'));
  const threads = options.threads ?? availableParallelism();
  const fp32 = await OnnxSession.create(exportOursBeats(cfg, tensors), { threads });
  const int8 = await OnnxSession.create(exportOursBeats(cfg, tensors, 'int8'), { threads });
  try {
    const emb = new Map<string, { fp32: Float32Array; int8: Float32Array }>();
    for (const [i, clip] of ds.clips.entries()) {
      const wave = await loadAudio16k(join(ds.root, clip.path));
      const fb = presetFbank(wave, 'beats', { source: clip.path });
      const feed = { fbank: { shape: [1, fb.frames, fb.bins], data: fb.data } };
      const a = (await fp32.run(feed, ['tokens'])).tokens!;
      const b = (await int8.run(feed, ['tokens'])).tokens!;
      const [, p, c] = a.shape as [number, number, number];
      emb.set(clip.path, { fp32: poolMeanStd(a.data as Float32Array, p, c), int8: poolMeanStd(b.data as Float32Array, p, c) });
      if ((i + 1) % 10 === 0) log(`embedded ${i + 1}/${ds.clips.length} clips`);
    }
    const rows: Int8AucRow[] = [];
    for (const type of machineTypes) {
      const of = ds.clips.filter((c) => c.machineType === type);
      const train = of.filter((c) => c.set === 'train');
      const test = of.filter((c) => c.set === 'test');
      const labels = test.map((c) => (c.label === 'anomaly' ? 1 : 0));
      const score = (k: 'fp32' | 'int8') =>
        test.map((t) => Math.min(...train.filter((r) => r.machine === t.machine).map((r) => cosineDistance(emb.get(t.path)![k], emb.get(r.path)![k]))));
      const s32 = score('fp32');
      const s8 = score('int8');
      rows.push({ machineType: type, aucFp32: auc(labels, s32), aucInt8: auc(labels, s8), paucFp32: pauc(labels, s32), paucInt8: pauc(labels, s8) });
    }
    return rows;
  } finally {
    await fp32.release();
    await int8.release();
  }
}
