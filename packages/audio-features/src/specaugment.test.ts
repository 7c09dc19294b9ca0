import { describe, expect, it } from 'vitest';

import { FeatureOptionsError } from './errors.js';
import { Rng } from './rng.js';
import { specAugment } from './specaugment.js';

const spec = { data: Float32Array.from({ length: 100 * 16 }, (_, i) => 1 + (i % 7)), frames: 100, bins: 16 };

function maskedRowsCols(out: { data: Float32Array; frames: number; bins: number }): { rows: number[]; cols: number[] } {
  const rows: number[] = [];
  const cols: number[] = [];
  for (let t = 0; t < out.frames; t++) if (out.data.subarray(t * out.bins, (t + 1) * out.bins).every((v) => v === 0)) rows.push(t);
  for (let b = 0; b < out.bins; b++) {
    let all = true;
    for (let t = 0; t < out.frames; t++) all &&= out.data[t * out.bins + b] === 0;
    if (all) cols.push(b);
  }
  return { rows, cols };
}

describe('specAugment', () => {
  it('is reproducible from the seed and leaves the input untouched', () => {
    const opts = { freqMaskParam: 8, timeMaskParam: 30, numFreqMasks: 2, numTimeMasks: 2 };
    const a = specAugment(spec, opts, new Rng(11));
    const b = specAugment(spec, opts, new Rng(11));
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(spec.data.every((v) => v !== 0)).toBe(true);
    expect(Array.from(specAugment(spec, opts, new Rng(12)).data)).not.toEqual(Array.from(a.data));
  });

  it('masks contiguous bands no wider than the parameters, only where it should', () => {
    for (let seed = 0; seed < 50; seed++) {
      const out = specAugment(spec, { freqMaskParam: 5, timeMaskParam: 10, numFreqMasks: 1, numTimeMasks: 1 }, new Rng(seed));
      const { rows, cols } = maskedRowsCols(out);
      expect(rows.length).toBeLessThan(10);
      expect(cols.length).toBeLessThan(5);
      if (rows.length > 0) expect(rows[rows.length - 1]! - rows[0]!).toBe(rows.length - 1);
      if (cols.length > 0) expect(cols[cols.length - 1]! - cols[0]!).toBe(cols.length - 1);
      // every zero lies in a masked row or column
      for (let t = 0; t < 100; t++) for (let f = 0; f < 16; f++) if (out.data[t * 16 + f] === 0) expect(rows.includes(t) || cols.includes(f)).toBe(true);
    }
  });

  it('draws masks like torchaudio mask_along_axis (width floor(u1*F), start floor(u2*(size - u1*F)))', () => {
    const draws = [0.5, 0.25, 0.9, 0.1];
    let i = 0;
    const out = specAugment(spec, { freqMaskParam: 8, timeMaskParam: 20, numFreqMasks: 1, numTimeMasks: 1, maskValue: -1 }, { next: () => draws[i++]! });
    // freq: width floor(4) = 4, start floor(0.25 * 12) = 3; time: value 18, start floor(0.1 * 82) = 8, width 18
    for (let f = 0; f < 16; f++) expect(out.data[50 * 16 + f] === -1).toBe(f >= 3 && f < 7);
    for (let t = 0; t < 100; t++) expect(out.data[t * 16 + 0] === -1).toBe(t >= 8 && t < 26);
  });

  it('with zero masks is the identity, and rejects bad parameters', () => {
    const out = specAugment(spec, { freqMaskParam: 10, timeMaskParam: 10, numFreqMasks: 0, numTimeMasks: 0 }, new Rng(0));
    expect(Array.from(out.data)).toEqual(Array.from(spec.data));
    expect(() => specAugment(spec, { freqMaskParam: -1, timeMaskParam: 10, numFreqMasks: 1, numTimeMasks: 1 }, new Rng(0))).toThrow(FeatureOptionsError);
  });
});
