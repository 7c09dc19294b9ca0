import { describe, expect, it } from 'vitest';

import { BEATS_ITER3_SHAPE, beatsFlops, fbankFrames } from './floor.js';

describe('arithmetic floor', () => {
  it('counts about 98 GFLOP for a 10 s clip through BEATs iter3 (DESIGN.md, issue #5)', () => {
    expect(fbankFrames(10)).toBe(998);
    const gflop = beatsFlops(BEATS_ITER3_SHAPE, 998) / 1e9;
    expect(gflop).toBeGreaterThan(97);
    expect(gflop).toBeLessThan(100);
  });
  it('grows linearly in the projections and quadratically in attention', () => {
    const a = beatsFlops(BEATS_ITER3_SHAPE, 160);
    const b = beatsFlops(BEATS_ITER3_SHAPE, 320);
    expect(b / a).toBeGreaterThan(2);
    expect(b / a).toBeLessThan(2.2);
  });
});
