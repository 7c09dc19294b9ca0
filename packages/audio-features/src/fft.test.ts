import { describe, expect, it } from 'vitest';

import { ComplexFft, RealFft } from './fft.js';
import { Rng } from './rng.js';

function dft(x: ArrayLike<number>): [Float64Array, Float64Array] {
  const n = x.length;
  const bins = Math.floor(n / 2) + 1;
  const re = new Float64Array(bins);
  const im = new Float64Array(bins);
  for (let k = 0; k < bins; k++) {
    for (let j = 0; j < n; j++) {
      re[k]! += x[j]! * Math.cos((2 * Math.PI * k * j) / n);
      im[k]! -= x[j]! * Math.sin((2 * Math.PI * k * j) / n);
    }
  }
  return [re, im];
}

describe('RealFft', () => {
  // power-of-two sizes take the packed path, the others Bluestein; both must equal the direct DFT
  for (const n of [1, 2, 4, 8, 64, 512, 3, 5, 100, 400, 441]) {
    it(`matches a direct DFT for n = ${n} to 1e-9 relative`, () => {
      const rng = new Rng(n);
      const x = Float64Array.from({ length: n }, () => rng.normal());
      const fft = new RealFft(n);
      const re = new Float64Array(fft.bins);
      const im = new Float64Array(fft.bins);
      fft.forward(x, re, im);
      const [dr, di] = dft(x);
      let err = 0;
      let scale = 0;
      for (let k = 0; k < fft.bins; k++) {
        err = Math.max(err, Math.abs(re[k]! - dr[k]!), Math.abs(im[k]! - di[k]!));
        scale = Math.max(scale, Math.abs(dr[k]!), Math.abs(di[k]!));
      }
      expect(err / scale).toBeLessThan(1e-9);
    });
  }

  it('rejects bad sizes and wrong input lengths', () => {
    expect(() => new ComplexFft(12)).toThrow(RangeError);
    expect(() => new RealFft(0)).toThrow(RangeError);
    expect(() => new RealFft(8).forward(new Float64Array(7), new Float64Array(5), new Float64Array(5))).toThrow(RangeError);
  });
});
