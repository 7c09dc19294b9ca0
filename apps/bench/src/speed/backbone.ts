import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

import { createTfParams, currentBackend, initBackend, TfOps, type BackendName } from '@anopatch/runtime';
import { BEATS_ITER3_CONFIG, BeatsBackbone, type BeatsConfig } from '@anopatch/vit-backbone';
import * as tf from '@tensorflow/tfjs-core';

/** 10 s at 16 kHz, Kaldi 25 ms / 10 ms framing: 1 + (160000 - 400) / 160. */
export const BACKBONE_FRAMES_10S = 998;

export interface BackboneSpeedOptions {
  /** Batch sizes to time (default [1, 8]). */
  batches?: readonly number[];
  /** fbank frames per clip (default a 10 s clip). */
  frames?: number;
  /**
   * Timed runs per batch size (default 3). `warmup` untimed runs (default 1) go before the first batch
   * size only: packed weights and caches stay warm across batch sizes, and a 10 s batch of 8 is long.
   */
  iterations?: number;
  warmup?: number;
  /**
   * Parallel model copies, one TF.js backend each in its own worker thread (default 1: this thread).
   * wasm runs one thread per backend, so 'cores' (one per core) is how to use the whole machine.
   */
  workers?: number | 'cores';
  /** Architecture (default the published BEATs_iter3); weights are a seeded random init. */
  config?: Readonly<BeatsConfig>;
  /** Called after each timed run. */
  onProgress?: (batch: number, iteration: number, seconds: number) => void;
}

export interface BackboneSpeedRow {
  /** Clips per forward pass of each model copy. */
  batch: number;
  /** Model copies running at once; each timed run processes batch x workers clips. */
  workers: number;
  secondsPerRun: number[];
  medianSeconds: number;
  clipsPerSecond: number;
  /** Median CPU seconds per clip (whole process): hardly load-dependent, compare with PyTorch's cpu_seconds_per_clip. */
  cpuSecondsPerClip: number;
  outputShape: number[];
}

export interface BackboneSpeedResult {
  backend: string;
  /** Threads of one backend's kernels. */
  threads: number;
  frames: number;
  parameters: number;
  rows: BackboneSpeedRow[];
  /** Peak resident set of this process (workers included), MiB. */
  peakRssMiB: number;
}

interface RunRequest {
  batch: number;
  frames: number;
}
interface RunReply {
  seconds: number;
  shape: number[];
}

/** A full-size BEATs with seeded random weights on the current backend, and a timed forward pass. */
export class BackboneRunner {
  private readonly backbone: BeatsBackbone;
  private readonly ops: TfOps;
  private readonly params: Map<string, tf.Variable>;
  constructor(config: Readonly<BeatsConfig> = BEATS_ITER3_CONFIG) {
    this.backbone = new BeatsBackbone(config);
    this.params = createTfParams(this.backbone.paramSpecs(), { seed: 1, trainable: false });
    this.ops = new TfOps(this.params);
  }
  get parameters(): number {
    let n = 0;
    for (const p of this.params.values()) n += p.size;
    return n;
  }
  async run({ batch, frames }: RunRequest): Promise<RunReply> {
    const x = tf.randomNormal([batch, frames, 128], 0, 1, 'float32', batch);
    try {
      const t0 = performance.now();
      const y = tf.tidy(() => this.backbone.forward(this.ops, x, { training: false }));
      await y.data();
      const seconds = (performance.now() - t0) / 1000;
      const shape = [...y.shape];
      y.dispose();
      return { seconds, shape };
    } finally {
      x.dispose();
    }
  }
  dispose(): void {
    this.ops.dispose();
    for (const p of this.params.values()) p.dispose();
  }
}

/** CPU time of this process, worker threads included: wall time says little on a machine shared with other work. */
function processCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** One model copy in a worker thread, driven by messages (see backbone-worker.ts). */
class WorkerCopy {
  private readonly worker: Worker;
  private readonly pending: ((reply: RunReply | { error: string }) => void)[] = [];
  readonly ready: Promise<number>;
  constructor(backend: BackendName, config: Readonly<BeatsConfig>) {
    this.worker = new Worker(new URL('./backbone-worker.js', import.meta.url), { workerData: { backend, config } });
    this.ready = new Promise((resolve, reject) => {
      this.worker.once('message', (m: { parameters: number } | { error: string }) => ('error' in m ? reject(new Error(m.error)) : resolve(m.parameters)));
      this.worker.once('error', reject);
    });
    void this.ready.then(() => this.worker.on('message', (m: RunReply | { error: string }) => this.pending.shift()?.(m)), () => undefined);
  }
  run(req: RunRequest): Promise<RunReply> {
    return new Promise((resolve, reject) => {
      this.pending.push((m) => ('error' in m ? reject(new Error(m.error)) : resolve(m)));
      this.worker.postMessage(req);
    });
  }
  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

/**
 * Embedding-extraction speed of a full-size BEATs on 10 s clips (fbank in, tokens out) on the TF.js
 * backend chosen by initBackend, at each batch size: clips/s and the peak RSS. With several workers
 * every copy runs the same batch at once and the clips of all copies count.
 */
export async function measureBackboneSpeed(options: BackboneSpeedOptions = {}): Promise<BackboneSpeedResult> {
  const batches = options.batches ?? [1, 8];
  const frames = options.frames ?? BACKBONE_FRAMES_10S;
  const iterations = options.iterations ?? 3;
  const warmup = options.warmup ?? 1;
  const config = options.config ?? BEATS_ITER3_CONFIG;
  const info = currentBackend() ?? (await initBackend());
  const workers = options.workers === 'cores' ? availableParallelism() : (options.workers ?? 1);

  let runOnce: (req: RunRequest) => Promise<RunReply[]>;
  let parameters: number;
  let close: () => Promise<void>;
  if (workers <= 1) {
    const runner = new BackboneRunner(config);
    parameters = runner.parameters;
    runOnce = async (req) => [await runner.run(req)];
    close = () => Promise.resolve(runner.dispose());
  } else {
    const copies = Array.from({ length: workers }, () => new WorkerCopy(info.name, config));
    try {
      parameters = (await Promise.all(copies.map((c) => c.ready)))[0]!;
    } catch (err) {
      await Promise.all(copies.map((c) => c.terminate()));
      throw err;
    }
    runOnce = (req) => Promise.all(copies.map((c) => c.run(req)));
    close = async () => void (await Promise.all(copies.map((c) => c.terminate())));
  }

  const rows: BackboneSpeedRow[] = [];
  try {
    for (const [bi, batch] of batches.entries()) {
      const req = { batch, frames };
      if (bi === 0) for (let i = 0; i < warmup; i++) await runOnce(req);
      const secondsPerRun: number[] = [];
      const cpuPerClip: number[] = [];
      let outputShape: number[] = [];
      for (let i = 0; i < iterations; i++) {
        const t0 = performance.now();
        const c0 = processCpuSeconds();
        const replies = await runOnce(req);
        const seconds = (performance.now() - t0) / 1000;
        cpuPerClip.push((processCpuSeconds() - c0) / (batch * replies.length));
        outputShape = replies[0]!.shape;
        secondsPerRun.push(seconds);
        options.onProgress?.(batch, i, seconds);
      }
      const med = median(secondsPerRun);
      rows.push({ batch, workers: Math.max(1, workers), secondsPerRun, medianSeconds: med, clipsPerSecond: (batch * Math.max(1, workers)) / med, cpuSecondsPerClip: median(cpuPerClip), outputShape });
    }
  } finally {
    await close();
  }
  return { backend: info.name, threads: info.threads, frames, parameters, rows, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
}

export interface PytorchReferenceOptions {
  /** Python with Debian's python3-torch (default /usr/bin/python3). */
  python?: string;
  /** tooling/reference/beats/speed.py */
  script: string;
  /** Folder with the official BEATs.py, backbone.py, modules.py. */
  beatsDir: string;
  threads?: number;
  batches?: readonly number[];
  iterations?: number;
}

export interface PytorchReferenceResult {
  torch: string;
  threads: number;
  rows: { batch: number; seconds_per_run: number[]; median_seconds: number; clips_per_second: number; cpu_seconds_per_clip: number }[];
  peak_rss_mib: number;
}

/** Run the official PyTorch BEATs timing script (same clips, same machine) and read its JSON. */
export function measurePytorchReference(options: PytorchReferenceOptions): Promise<PytorchReferenceResult> {
  const args = [
    options.script,
    '--beats-dir', options.beatsDir,
    '--threads', String(options.threads ?? 2),
    '--batches', (options.batches ?? [1, 8]).join(','),
    '--iterations', String(options.iterations ?? 3),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(options.python ?? '/usr/bin/python3', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${options.script} exited with ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
      else resolve(JSON.parse(out) as PytorchReferenceResult);
    });
  });
}
