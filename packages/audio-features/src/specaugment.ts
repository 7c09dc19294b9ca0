import { FeatureOptionsError } from './errors.js';
import type { Fbank } from './fbank.js';

export interface SpecAugmentOptions {
  /** Maximum frequency-mask width F (mask width ~ floor(U[0, F))). */
  freqMaskParam: number;
  /** Maximum time-mask width T. */
  timeMaskParam: number;
  numFreqMasks: number;
  numTimeMasks: number;
  /** Value written into masked cells (0 = the normalised mean region, as torchaudio's masking does). */
  maskValue?: number;
}

/** Anything with a uniform [0, 1) `next()`, e.g. `Rng`. */
export interface RandomSource {
  next(): number;
}

/**
 * SpecAugment frequency and time masking (no time warp: AnoPatch, like BEATs fine-tuning, does not use it).
 * Each mask follows torchaudio's `mask_along_axis`: width = floor(u1 * param), start = floor(u2 * (size - u1*param)),
 * frequency masks drawn before time masks. Returns a new spectrogram; the input is not modified.
 */
export function specAugment(spec: Fbank, options: SpecAugmentOptions, rng: RandomSource): Fbank {
  const { freqMaskParam, timeMaskParam, numFreqMasks, numTimeMasks, maskValue = 0 } = options;
  for (const [name, v] of Object.entries({ freqMaskParam, timeMaskParam, numFreqMasks, numTimeMasks })) {
    if (!Number.isInteger(v) || v < 0) throw new FeatureOptionsError(`specAugment: ${name} must be a non-negative integer, got ${v}`);
  }
  const { frames, bins } = spec;
  const data = Float32Array.from(spec.data);
  const span = (param: number, size: number): [number, number] => {
    const value = rng.next() * Math.min(param, size);
    const start = Math.floor(rng.next() * (size - value));
    return [start, Math.min(size, start + Math.floor(value))];
  };
  for (let m = 0; m < numFreqMasks; m++) {
    const [lo, hi] = span(freqMaskParam, bins);
    for (let t = 0; t < frames; t++) data.fill(maskValue, t * bins + lo, t * bins + hi);
  }
  for (let m = 0; m < numTimeMasks; m++) {
    const [lo, hi] = span(timeMaskParam, frames);
    data.fill(maskValue, lo * bins, hi * bins);
  }
  return { data, frames, bins };
}
