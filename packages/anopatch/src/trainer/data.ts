import { Rng, specAugment, type SpecAugmentOptions } from '@anopatch/audio-features';
import type { FrontEnd } from '@anopatch/vit-backbone';

import { TrainDataError } from '../errors.js';
import type { FbankInput } from '../model/model.js';

/**
 * One training example and its metadata class: a normalised fbank (frames x mel bins) for fbank
 * backbones, or the 16 kHz waveform for waveform backbones (wav2vec2 family, ATST).
 */
export type TrainClip = FbankTrainClip | WaveformTrainClip;
export interface FbankTrainClip {
  fbank: FbankInput;
  wave?: undefined;
  label: number;
}
export interface WaveformTrainClip {
  wave: Float32Array;
  fbank?: undefined;
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
  /**
   * `frontEnd` says what the model reads; a source that can make either (dcaseTrainingSet) follows
   * it, a source of ready-made clips may ignore it (makeBatch checks the kind).
   */
  get(index: number, frontEnd?: FrontEnd): TrainClip | Promise<TrainClip>;
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
  /** Frames per training example of an fbank backbone (10 s at 10 ms hop = 998 frames). */
  frames: number;
  /** Samples per training example of a waveform backbone. Default: the audio the fbank crop covers, `cropSamplesFor(frames)`. */
  samples?: number;
  /** Longer clips: a uniformly random window ('random') or the start ('start'). */
  crop: 'random' | 'start';
  /** Shorter clips: repeated end to end ('repeat', no artificial silence), or padded with `padValue` ('constant'). */
  pad: 'repeat' | 'constant';
  /** Value of padded frames for 'constant' (0 is the normalised mean). Default 0. */
  padValue?: number;
}

/**
 * Crop or pad a clip to `policy.frames` frames; random choices come from `rng`. A waveform goes
 * through the same code as `{ data: wave, frames: samples, bins: 1 }` with `frames: samples`.
 */
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

/**
 * Samples of 16 kHz audio that `frames` Kaldi frames (25 ms window, 10 ms hop) cover: a waveform
 * backbone trains on the same audio as an fbank one (998 frames -> 159920 samples, 10 s).
 */
export function cropSamplesFor(frames: number): number {
  return (frames - 1) * 160 + 400;
}

export interface BatchOptions {
  policy: CropPadPolicy;
  /** null: no SpecAugment (Table 3 runs). Ignored for waveforms (it masks fbank frames and bins). */
  specAugment: SpecAugmentOptions | null;
  /** What the backbone reads (`backbone.frontEnd`); the clips must carry it. Default 'fbank'. */
  frontEnd?: FrontEnd;
}

/** A micro-batch as flat data: x [B, frames, bins] (fbank) or [B, samples] (waveform), labels [B]. */
export interface MicroBatch {
  data: Float32Array;
  shape: [number, number, number] | [number, number];
  labels: Int32Array;
}

/**
 * Load `indices`, crop/pad, SpecAugment (fbank only), stack. Random draws come from `rng` in clip
 * order. A waveform is cropped as a one-bin fbank, so both front ends share the seeded policy.
 */
export async function makeBatch(source: ClipSource, indices: readonly number[], options: BatchOptions, rng: Rng): Promise<MicroBatch> {
  const waveform = (options.frontEnd ?? 'fbank') === 'waveform';
  const policy = waveform ? { ...options.policy, frames: options.policy.samples ?? cropSamplesFor(options.policy.frames) } : options.policy;
  const { frames } = policy;
  let bins = 0;
  let data = new Float32Array(0);
  const labels = new Int32Array(indices.length);
  for (const [j, index] of indices.entries()) {
    const clip = await source.get(index, waveform ? 'waveform' : 'fbank');
    const rows = clipRows(clip, waveform, `training clip ${index}`);
    if (j === 0) {
      bins = rows.bins;
      data = new Float32Array(indices.length * frames * bins);
    } else if (rows.bins !== bins) {
      throw new TrainDataError(`training clip ${index}`, `has ${rows.bins} mel bins, the batch has ${bins}`);
    }
    if (!Number.isInteger(clip.label) || clip.label < 0 || clip.label >= source.numClasses) {
      throw new TrainDataError(`training clip ${index}`, `label ${clip.label} is outside [0, ${source.numClasses})`);
    }
    let x = cropOrPad(rows, policy, rng);
    if (options.specAugment && !waveform) x = specAugment(x, options.specAugment, rng);
    data.set(x.data, j * frames * bins);
    labels[j] = clip.label;
  }
  return { data, shape: waveform ? [indices.length, frames] : [indices.length, frames, bins], labels };
}

/** The clip as rows of `bins` values: an fbank as it is, a waveform as one value per row. */
function clipRows(clip: TrainClip, waveform: boolean, where: string): FbankInput {
  if (waveform) {
    if (!clip.wave) throw new TrainDataError(where, "is an fbank, but the backbone reads 16 kHz waveforms");
    return { data: clip.wave, frames: clip.wave.length, bins: 1 };
  }
  if (!clip.fbank) throw new TrainDataError(where, "is a waveform, but the backbone reads fbanks");
  return clip.fbank;
}
