import { describe, expect, it } from 'vitest';

import { loadReferenceNpy, maxAbsDiff, referenceDir, relToMax } from './index.js';

describe('test-fixtures', () => {
  it('finds the shared reference fixtures and reads a float32 .npy', () => {
    expect(referenceDir()).toMatch(/fixtures[/\\]reference$/);
    const fbank = loadReferenceNpy('clip_a.fbank.npy');
    expect(fbank.shape).toEqual([198, 128]);
    expect(fbank.dtype).toBe('float32');
  });
  it('measures differences', () => {
    expect(maxAbsDiff([1, 2, 3], [1, 2.5, 3])).toBe(0.5);
    expect(relToMax([1, 2, 4], [1, 2, 5])).toBeCloseTo(0.2, 12);
    expect(() => maxAbsDiff([1], [1, 2])).toThrow(/length mismatch/);
    expect(maxAbsDiff([Number.NaN], [0])).toBe(Number.POSITIVE_INFINITY);
  });
});
