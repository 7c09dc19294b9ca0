import { ClipTooShortError, FeatureOptionsError, NonFiniteAudioError } from './errors.js';
import { RealFft } from './fft.js';
import { Rng } from './rng.js';

export type WindowType = 'povey' | 'hanning' | 'hamming' | 'rectangular' | 'blackman';

/**
 * The options of `torchaudio.compliance.kaldi.fbank` (0.13), camel-cased, with the same defaults except
 * `numMelBins` (128 here, the value every backbone of this project uses; torchaudio's default is 23), plus
 * `waveformScale`, `rng` and `source`.
 */
export interface KaldiFbankOptions {
  /** Multiply the waveform by this first. BEATs feeds int16-range audio: use 2**15 (see FBANK_PRESETS.beats). */
  waveformScale: number;
  blackmanCoeff: number;
  /** Gaussian dither amplitude; 0 disables it (and makes the output deterministic). */
  dither: number;
  energyFloor: number;
  /** Frame length in milliseconds. */
  frameLength: number;
  /** Frame shift in milliseconds. */
  frameShift: number;
  /** High cut-off in Hz; <= 0 means offset from Nyquist. */
  highFreq: number;
  htkCompat: boolean;
  lowFreq: number;
  /** Clips shorter than this (seconds) give zero frames. */
  minDuration: number;
  numMelBins: number;
  preemphasisCoefficient: number;
  rawEnergy: boolean;
  removeDcOffset: boolean;
  roundToPowerOfTwo: boolean;
  sampleFrequency: number;
  snipEdges: boolean;
  subtractMean: boolean;
  useEnergy: boolean;
  useLogFbank: boolean;
  usePower: boolean;
  vtlnHigh: number;
  vtlnLow: number;
  vtlnWarp: number;
  windowType: WindowType;
  /** Source of the dither noise (only drawn from when dither != 0); defaults to `new Rng(0)`. */
  rng?: Rng;
  /** Names the input in error messages (e.g. the wav path). */
  source?: string;
}

export const KALDI_FBANK_DEFAULTS: Readonly<KaldiFbankOptions> = Object.freeze({
  waveformScale: 1,
  blackmanCoeff: 0.42,
  dither: 0,
  energyFloor: 1,
  frameLength: 25,
  frameShift: 10,
  highFreq: 0,
  htkCompat: false,
  lowFreq: 20,
  minDuration: 0,
  numMelBins: 128,
  preemphasisCoefficient: 0.97,
  rawEnergy: true,
  removeDcOffset: true,
  roundToPowerOfTwo: true,
  sampleFrequency: 16000,
  snipEdges: true,
  subtractMean: false,
  useEnergy: false,
  useLogFbank: true,
  usePower: true,
  vtlnHigh: -500,
  vtlnLow: 100,
  vtlnWarp: 1,
  windowType: 'povey',
});

/** Row-major [frames, bins] features. */
export interface Fbank {
  data: Float32Array;
  frames: number;
  bins: number;
}

/** torchaudio floors log inputs at float32 machine epsilon whatever the waveform dtype. */
const EPSILON = 1.1920928955078125e-7;

export function featureWindow(type: WindowType, size: number, blackmanCoeff = 0.42): Float64Array {
  const w = new Float64Array(size);
  const a = (2 * Math.PI) / (size - 1);
  for (let n = 0; n < size; n++) {
    switch (type) {
      case 'hanning':
        w[n] = 0.5 - 0.5 * Math.cos(a * n);
        break;
      case 'povey':
        w[n] = Math.pow(0.5 - 0.5 * Math.cos(a * n), 0.85);
        break;
      case 'hamming':
        w[n] = 0.54 - 0.46 * Math.cos(a * n);
        break;
      case 'rectangular':
        w[n] = 1;
        break;
      case 'blackman':
        w[n] = blackmanCoeff - 0.5 * Math.cos(a * n) + (0.5 - blackmanCoeff) * Math.cos(2 * a * n);
        break;
    }
  }
  return w;
}

const melScale = (f: number): number => 1127 * Math.log(1 + f / 700);
const inverseMelScale = (m: number): number => 700 * (Math.exp(m / 1127) - 1);

function vtlnWarpFreq(vtlnLow: number, vtlnHigh: number, lowFreq: number, highFreq: number, warp: number, freq: number): number {
  const l = vtlnLow * Math.max(1, warp);
  const h = vtlnHigh * Math.min(1, warp);
  const scale = 1 / warp;
  const fl = scale * l;
  const fh = scale * h;
  if (!(l > lowFreq && h < highFreq)) throw new FeatureOptionsError(`VTLN cut-offs ${l}..${h} Hz fall outside ${lowFreq}..${highFreq} Hz for warp ${warp}`);
  if (freq < lowFreq || freq > highFreq) return freq;
  if (freq < l) return lowFreq + ((fl - lowFreq) / (l - lowFreq)) * (freq - lowFreq);
  if (freq < h) return scale * freq;
  return highFreq + ((highFreq - fh) / (highFreq - h)) * (freq - highFreq);
}

/** One triangular filter, stored sparsely: weights for FFT bins start..start+weights.length-1. */
interface MelFilter {
  start: number;
  weights: Float64Array;
}

/**
 * Kaldi mel filterbank [numBins, paddedSize/2 + 1] (last column 0), as torchaudio's `get_mel_banks` builds it.
 * torchaudio computes it in float32 whatever the waveform dtype; Math.fround at each step reproduces that, so
 * even a float64 fbank uses the same filter weights as the reference.
 */
export function melBanks(numBins: number, paddedSize: number, sampleFreq: number, lowFreq: number, highFreq: number, vtlnLow = 100, vtlnHigh = -500, vtlnWarp = 1): Float64Array[] {
  if (numBins <= 3) throw new FeatureOptionsError(`numMelBins must be at least 4, got ${numBins}`);
  if (paddedSize % 2 !== 0) throw new FeatureOptionsError(`padded window size must be even, got ${paddedSize}`);
  const f = Math.fround;
  const numFftBins = paddedSize / 2;
  const nyquist = 0.5 * sampleFreq;
  const high = highFreq <= 0 ? highFreq + nyquist : highFreq;
  if (!(lowFreq >= 0 && lowFreq < nyquist && high > 0 && high <= nyquist && lowFreq < high)) {
    throw new FeatureOptionsError(`bad mel range: lowFreq ${lowFreq} Hz, highFreq ${high} Hz, Nyquist ${nyquist} Hz`);
  }
  const binWidth = sampleFreq / paddedSize;
  const melLow = melScale(lowFreq);
  const melDelta = (melScale(high) - melLow) / (numBins + 1);
  const vHigh = vtlnHigh < 0 ? vtlnHigh + nyquist : vtlnHigh;
  if (vtlnWarp !== 1 && !(lowFreq < vtlnLow && vtlnLow < high && vHigh > 0 && vHigh < high && vtlnLow < vHigh)) {
    throw new FeatureOptionsError(`bad VTLN cut-offs ${vtlnLow}..${vHigh} Hz for mel range ${lowFreq}..${high} Hz`);
  }
  const warpMel = (m: number): number =>
    vtlnWarp === 1 ? m : f(melScale(vtlnWarpFreq(vtlnLow, vHigh, lowFreq, high, vtlnWarp, f(inverseMelScale(m)))));
  const mel = new Float64Array(numFftBins);
  for (let k = 0; k < numFftBins; k++) mel[k] = f(f(1127) * f(Math.log(f(1 + f(f(binWidth * k) / 700)))));
  const banks: Float64Array[] = [];
  for (let b = 0; b < numBins; b++) {
    const left = warpMel(f(f(melLow) + f(b * f(melDelta))));
    const center = warpMel(f(f(melLow) + f((b + 1) * f(melDelta))));
    const right = warpMel(f(f(melLow) + f((b + 2) * f(melDelta))));
    const row = new Float64Array(numFftBins + 1);
    for (let k = 0; k < numFftBins; k++) {
      const m = mel[k]!;
      const up = f(f(m - left) / f(center - left));
      const down = f(f(right - m) / f(right - center));
      if (vtlnWarp === 1) row[k] = Math.max(0, Math.min(up, down));
      else if (m > left && m <= center) row[k] = up;
      else if (m > center && m < right) row[k] = down;
    }
    banks.push(row);
  }
  return banks;
}

function sparse(rows: Float64Array[]): MelFilter[] {
  return rows.map((row) => {
    let start = 0;
    while (start < row.length && row[start] === 0) start++;
    let end = row.length;
    while (end > start && row[end - 1] === 0) end--;
    return { start, weights: row.slice(start, end) };
  });
}

interface Plan {
  windowSize: number;
  windowShift: number;
  paddedSize: number;
  window: Float64Array;
  filters: MelFilter[];
  fft: RealFft;
}

const plans = new Map<string, Plan>();

function planFor(o: KaldiFbankOptions): Plan {
  const key = [o.sampleFrequency, o.frameLength, o.frameShift, o.roundToPowerOfTwo, o.windowType, o.blackmanCoeff, o.numMelBins, o.lowFreq, o.highFreq, o.vtlnLow, o.vtlnHigh, o.vtlnWarp].join('|');
  const cached = plans.get(key);
  if (cached) return cached;
  // int(sample_frequency * frame_shift * 0.001), exactly as torchaudio truncates it
  const windowShift = Math.trunc(o.sampleFrequency * o.frameShift * 0.001);
  const windowSize = Math.trunc(o.sampleFrequency * o.frameLength * 0.001);
  if (windowSize < 2) throw new FeatureOptionsError(`frame of ${windowSize} samples (frameLength ${o.frameLength} ms at ${o.sampleFrequency} Hz) is too short`);
  if (windowShift < 1) throw new FeatureOptionsError(`frame shift of ${windowShift} samples is too short`);
  let paddedSize = windowSize;
  if (o.roundToPowerOfTwo) {
    paddedSize = 1;
    while (paddedSize < windowSize) paddedSize <<= 1;
  }
  const plan: Plan = {
    windowSize,
    windowShift,
    paddedSize,
    window: featureWindow(o.windowType, windowSize, o.blackmanCoeff),
    filters: sparse(melBanks(o.numMelBins, paddedSize, o.sampleFrequency, o.lowFreq, o.highFreq, o.vtlnLow, o.vtlnHigh, o.vtlnWarp)),
    fft: new RealFft(paddedSize),
  };
  if (plans.size > 32) plans.clear();
  plans.set(key, plan);
  return plan;
}

/** Number of frames kaldi fbank produces for n samples. */
export function fbankFrameCount(numSamples: number, options: Partial<KaldiFbankOptions> = {}): number {
  const o = { ...KALDI_FBANK_DEFAULTS, ...options };
  const shift = Math.trunc(o.sampleFrequency * o.frameShift * 0.001);
  const size = Math.trunc(o.sampleFrequency * o.frameLength * 0.001);
  if (o.snipEdges) return numSamples < size ? 0 : 1 + Math.floor((numSamples - size) / shift);
  return Math.floor((numSamples + Math.floor(shift / 2)) / shift);
}

/**
 * Log mel filterbank matching `torchaudio.compliance.kaldi.fbank` (computed in float64, returned as float32).
 * Throws ClipTooShortError when the clip is shorter than one frame (torchaudio asserts there too, for both
 * snip_edges settings) and NonFiniteAudioError on NaN/Inf samples.
 */
export function kaldiFbank(wave: Float32Array | Float64Array, options: Partial<KaldiFbankOptions> = {}): Fbank {
  const o: KaldiFbankOptions = { ...KALDI_FBANK_DEFAULTS, ...options };
  const source = o.source ?? '<waveform>';
  if (!(o.preemphasisCoefficient >= 0 && o.preemphasisCoefficient <= 1)) throw new FeatureOptionsError(`preemphasisCoefficient must be in [0, 1], got ${o.preemphasisCoefficient}`);
  if (!(o.sampleFrequency > 0)) throw new FeatureOptionsError(`sampleFrequency must be positive, got ${o.sampleFrequency}`);
  if (!Number.isFinite(o.waveformScale)) throw new FeatureOptionsError(`waveformScale must be finite, got ${o.waveformScale}`);
  const plan = planFor(o);
  const { windowSize, windowShift, paddedSize, window, filters, fft } = plan;
  const n = wave.length;
  if (n < windowSize) {
    throw new ClipTooShortError(source, `${n} samples (${(n / o.sampleFrequency).toFixed(4)} s) is shorter than one ${o.frameLength} ms frame (${windowSize} samples)`);
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(wave[i]!)) throw new NonFiniteAudioError(source, `sample ${i} is ${wave[i]}`);
  }
  const numMel = filters.length;
  const bins = numMel + (o.useEnergy ? 1 : 0);
  if (n < o.minDuration * o.sampleFrequency) return { data: new Float32Array(0), frames: 0, bins };

  // Frame i covers padded[i*shift, i*shift + size); without snip_edges torchaudio reflects the edges.
  let padded: Float32Array | Float64Array = wave;
  let frames: number;
  if (o.snipEdges) {
    frames = 1 + Math.floor((n - windowSize) / windowShift);
  } else {
    frames = Math.floor((n + Math.floor(windowShift / 2)) / windowShift);
    const pad = Math.floor(windowSize / 2) - Math.floor(windowShift / 2);
    const reversed = Float64Array.from(wave).reverse();
    const parts: ArrayLike<number>[] = pad > 0 ? [reversed.subarray(n - pad), wave, reversed] : [wave.subarray(-pad), reversed];
    const joined = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) {
      joined.set(p, at);
      at += p.length;
    }
    padded = joined;
  }

  const rng = o.dither !== 0 ? (o.rng ?? new Rng(0)) : undefined;
  const scale = o.waveformScale;
  const preemph = o.preemphasisCoefficient;
  const logEnergyFloor = o.energyFloor !== 0 ? Math.log(o.energyFloor) : Number.NEGATIVE_INFINITY;
  const frame = new Float64Array(paddedSize);
  const re = new Float64Array(fft.bins);
  const im = new Float64Array(fft.bins);
  const spectrum = new Float64Array(fft.bins);
  const out = new Float32Array(frames * bins);
  const melOffset = o.useEnergy && !o.htkCompat ? 1 : 0;
  const energyColumn = o.useEnergy ? (o.htkCompat ? numMel : 0) : -1;
  const logEnergy = (x: Float64Array): number => {
    let e = 0;
    for (let j = 0; j < x.length; j++) e += x[j]! * x[j]!;
    return Math.max(Math.log(Math.max(e, EPSILON)), logEnergyFloor);
  };

  for (let t = 0; t < frames; t++) {
    const begin = t * windowShift;
    for (let j = 0; j < windowSize; j++) frame[j] = padded[begin + j]! * scale;
    if (rng) for (let j = 0; j < windowSize; j++) frame[j] = frame[j]! + rng.normal() * o.dither;
    if (o.removeDcOffset) {
      let mean = 0;
      for (let j = 0; j < windowSize; j++) mean += frame[j]!;
      mean /= windowSize;
      for (let j = 0; j < windowSize; j++) frame[j] = frame[j]! - mean;
    }
    let energy = 0;
    if (o.useEnergy && o.rawEnergy) energy = logEnergy(frame.subarray(0, windowSize));
    if (preemph !== 0) {
      // y[j] = x[j] - c x[j-1] with x[-1] := x[0] (torchaudio's replicate pad)
      for (let j = windowSize - 1; j > 0; j--) frame[j] = frame[j]! - preemph * frame[j - 1]!;
      frame[0] = frame[0]! - preemph * frame[0]!;
    }
    for (let j = 0; j < windowSize; j++) frame[j] = frame[j]! * window[j]!;
    if (o.useEnergy && !o.rawEnergy) energy = logEnergy(frame);
    fft.forward(frame, re, im);
    for (let k = 0; k < spectrum.length; k++) {
      const p = re[k]! * re[k]! + im[k]! * im[k]!;
      spectrum[k] = o.usePower ? p : Math.sqrt(p);
    }
    const row = t * bins;
    for (let b = 0; b < numMel; b++) {
      const { start, weights } = filters[b]!;
      let m = 0;
      for (let k = 0; k < weights.length; k++) m += weights[k]! * spectrum[start + k]!;
      out[row + melOffset + b] = o.useLogFbank ? Math.log(Math.max(m, EPSILON)) : m;
    }
    if (energyColumn >= 0) out[row + energyColumn] = energy;
  }

  if (o.subtractMean) {
    for (let b = 0; b < bins; b++) {
      let mean = 0;
      for (let t = 0; t < frames; t++) mean += out[t * bins + b]!;
      mean /= frames;
      for (let t = 0; t < frames; t++) out[t * bins + b] = out[t * bins + b]! - mean;
    }
  }
  return { data: out, frames, bins };
}
