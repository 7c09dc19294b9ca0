import { performance } from 'node:perf_hooks';

import { presetFbank, type FbankPresetName } from './presets.js';
import { Rng } from './rng.js';

export interface MeasureFbankOptions {
  /** Clip length in seconds (16 kHz). */
  seconds?: number;
  /** Clips in the throughput run. */
  clips?: number;
  /** Repeats of the single-clip timing (the median is reported). */
  repeats?: number;
  preset?: FbankPresetName;
  seed?: number;
}

export interface FbankSpeed {
  preset: FbankPresetName;
  clipSeconds: number;
  framesPerClip: number;
  /** Median wall time of one clip's fbank + normalisation, ms. */
  singleClipMs: number;
  clips: number;
  totalMs: number;
  clipsPerSecond: number;
}

/**
 * Time the front end on synthetic noise-plus-tone clips: median single-clip time and throughput over `clips`
 * distinct clips. For `anopatch-bench speed`; never called from unit tests with timing assertions.
 */
export function measureFbank(options: MeasureFbankOptions = {}): FbankSpeed {
  const { seconds = 10, clips = 100, repeats = 7, preset = 'beats', seed = 1234 } = options;
  const rng = new Rng(seed);
  const n = Math.round(seconds * 16000);
  const makeClip = (): Float32Array => {
    const x = new Float32Array(n);
    const f = 100 + 900 * rng.next();
    for (let i = 0; i < n; i++) x[i] = 0.3 * Math.sin((2 * Math.PI * f * i) / 16000) + 0.05 * rng.normal();
    return x;
  };
  const pool = Array.from({ length: Math.min(clips, 8) }, makeClip);
  let frames = presetFbank(pool[0]!, preset).frames; // warm-up: JIT and the cached filterbank plan
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    frames = presetFbank(pool[r % pool.length]!, preset).frames;
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const t0 = performance.now();
  for (let c = 0; c < clips; c++) presetFbank(pool[c % pool.length]!, preset);
  const totalMs = performance.now() - t0;
  return {
    preset,
    clipSeconds: seconds,
    framesPerClip: frames,
    singleClipMs: times[Math.floor(times.length / 2)]!,
    clips,
    totalMs,
    clipsPerSecond: clips / (totalMs / 1000),
  };
}
