import { Rng, specAugment, type SpecAugmentOptions } from '@anopatch/audio-features';

import { TrainDataError } from '../errors.js';
import type { FbankInput } from '../model/model.js';

/** One training example: a normalised fbank (frames x mel bins) and its metadata class. */
export interface TrainClip {
  fbank: FbankInput;
  label: number;
}

/**
 * Where training clips come from. `get` may load lazily (wav -> fbank) and may be async; it
 * must return the same clip for the same index every time (resume relies on it).
 */
export interface ClipSource {
  readonly size: number;
  readonly numClasses: number;
  /** Class of clip i without loading it (for reports); optional. */
  labelOf?(index: number): number;
  get(index: number): TrainClip | Promise<TrainClip>;
}

/** A ClipSource over clips already in memory. */
export function arrayClipSource(clips: readonly TrainClip[], numClasses?: number): ClipSource {
  const n = numClasses ?? clips.reduce((m, c) => Math.max(m, c.label + 1), 0);
  for (const [i, c] of clips.entries()) {
    if (!Number.isInteger(c.label) || c.label < 0 || c.label >= n) throw new TrainDataError('clip list', `clip ${i} has label ${c.label}, outside [0, ${n})`);
  }
  return { size: clips.length, numClasses: n, labelOf: (i) => clips[i]!.label, get: (i) => clips[i]! };
}

/** How clips become fixed-length training examples. */
export interface CropPadPolicy {
  /** Frames per training example (10 s at 10 ms hop = 998 frames). */
  frames: number;
  /** Longer clips: a uniformly random window ('random') or the start ('start'). */
  crop: 'random' | 'start';
  /** Shorter clips: repeated end to end ('repeat', no artificial silence), or padded with `padValue` ('constant'). */
  pad: 'repeat' | 'constant';
  /** Value of padded frames for 'constant' (0 is the normalised mean). Default 0. */
  padValue?: number;
}

/** Crop or pad a clip to `policy.frames` frames; random choices come from `rng`. */
export function cropOrPad(fbank: FbankInput, policy: CropPadPolicy, rng: Rng): FbankInput {
  const { frames, bins } = fbank;
  const T = policy.frames;
  if (frames === T) return fbank;
  if (frames <= 0) throw new TrainDataError('training clip', 'clip has no frames');
  const out = new Float32Array(T * bins);
  if (frames > T) {
    const start = policy.crop === 'random' ? rng.int(frames - T + 1) : 0;
    out.set(fbank.data.subarray(start * bins, (start + T) * bins));
  } else if (policy.pad === 'repeat') {
    for (let t = 0; t < T; t += frames) out.set(fbank.data.subarray(0, Math.min(frames, T - t) * bins), t * bins);
  } else {
    out.set(fbank.data);
    out.fill(policy.padValue ?? 0, frames * bins);
  }
  return { data: out, frames: T, bins };
}

/** Serializable position of the sampler. */
export interface SamplerState {
  epoch: number;
  cursor: number;
  order: number[];
  rng: { s: number; spare: number | null };
}

/**
 * Seeded shuffling without replacement: each epoch is a fresh permutation drawn from the
 * sampler's own Rng; `state` captures epoch, position and generator so a resumed run draws the
 * same clips.
 */
export class EpochSampler {
  private epoch: number;
  private cursor: number;
  private order: number[];
  private rng: Rng;

  constructor(
    private readonly size: number,
    seed: number,
    state?: SamplerState,
  ) {
    if (size < 1) throw new TrainDataError('training data', 'no training clips');
    if (state) {
      if (state.order.length !== size) throw new TrainDataError('sampler state', `it covers ${state.order.length} clips, the data has ${size}`);
      this.epoch = state.epoch;
      this.cursor = state.cursor;
      this.order = [...state.order];
      this.rng = Rng.fromState(state.rng);
    } else {
      this.rng = new Rng(seed);
      this.epoch = 0;
      this.cursor = 0;
      this.order = this.rng.shuffle([...Array(size).keys()]);
    }
  }

  next(): number {
    if (this.cursor >= this.size) {
      this.epoch += 1;
      this.cursor = 0;
      this.order = this.rng.shuffle([...Array(this.size).keys()]);
    }
    return this.order[this.cursor++]!;
  }

  get currentEpoch(): number {
    return this.epoch;
  }

  get state(): SamplerState {
    return { epoch: this.epoch, cursor: this.cursor, order: [...this.order], rng: this.rng.state };
  }
}

export interface BatchOptions {
  policy: CropPadPolicy;
  /** null: no SpecAugment (Table 3 runs). */
  specAugment: SpecAugmentOptions | null;
}

/** A micro-batch as flat data: x [B, frames, bins], labels [B]. */
export interface MicroBatch {
  data: Float32Array;
  shape: [number, number, number];
  labels: Int32Array;
}

/** Load `indices`, crop/pad, SpecAugment, stack. Random draws come from `rng` in clip order. */
export async function makeBatch(source: ClipSource, indices: readonly number[], options: BatchOptions, rng: Rng): Promise<MicroBatch> {
  const { frames } = options.policy;
  let bins = 0;
  let data = new Float32Array(0);
  const labels = new Int32Array(indices.length);
  for (const [j, index] of indices.entries()) {
    const clip = await source.get(index);
    if (j === 0) {
      bins = clip.fbank.bins;
      data = new Float32Array(indices.length * frames * bins);
    } else if (clip.fbank.bins !== bins) {
      throw new TrainDataError(`training clip ${index}`, `has ${clip.fbank.bins} mel bins, the batch has ${bins}`);
    }
    if (!Number.isInteger(clip.label) || clip.label < 0 || clip.label >= source.numClasses) {
      throw new TrainDataError(`training clip ${index}`, `label ${clip.label} is outside [0, ${source.numClasses})`);
    }
    let x = cropOrPad(clip.fbank, options.policy, rng);
    if (options.specAugment) x = specAugment(x, options.specAugment, rng);
    data.set(x.data, j * frames * bins);
    labels[j] = clip.label;
  }
  return { data, shape: [indices.length, frames, bins], labels };
}
