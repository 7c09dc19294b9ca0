import { describe, expect, it } from 'vitest';

import { BEATS_ITER3_SHAPE, beatsFlops } from './floor.js';
import { arithmeticFloor, formatSpeedReport, ratio } from './report.js';

describe('speed report', () => {
  it('divides GFLOP per clip by the matmul peak', () => {
    const f = arithmeticFloor(98e9, 49, 'wasm');
    expect(f.gflopPerClip).toBeCloseTo(98, 12);
    expect(f.floorSecondsPerClip).toBeCloseTo(2, 12);
    expect(f.floorClipsPerSecond).toBeCloseTo(0.5, 12);
  });
  it('gives ours / reference throughput, or null without a reference', () => {
    expect(ratio({ ours: 3, reference: 1.5 })).toBe(2);
    expect(ratio({ ours: 3 })).toBeNull();
    expect(ratio({ ours: 3, reference: 0 })).toBeNull();
  });
  it('prints aligned rows, the reference source, the ratio and the floor', () => {
    const floor = arithmeticFloor(beatsFlops(BEATS_ITER3_SHAPE, 998), 20, 'wasm');
    const text = formatSpeedReport(
      ['anopatch-bench speed'],
      [
        { section: 'fbank', case: '10 s clip', ours: 25, unit: 'clips/s', reference: 2.5, referenceSource: 'committed run', peakRssMiB: 120 },
        { section: 'knn', case: 'exact, bank 1000', ours: 12345, unit: 'queries/s' },
      ],
      floor,
      ['a note'],
    );
    const lines = text.split('\n');
    expect(lines[0]).toBe('anopatch-bench speed');
    const fbank = lines.find((l) => l.startsWith('fbank'))!;
    expect(fbank).toContain('25.0 clips/s');
    expect(fbank).toContain('2.50 clips/s (committed run)');
    expect(fbank).toContain('10.00x');
    expect(fbank).toContain('120 MiB');
    expect(lines.find((l) => l.startsWith('knn'))).toMatch(/^knn +exact, bank 1000 +12345 queries\/s +- +- +-$/);
    // the column of the "ours" cells starts at the same offset on every row
    expect(fbank.indexOf('25.0')).toBe(lines.find((l) => l.startsWith('knn'))!.indexOf('12345'));
    expect(text).toContain(`${floor.gflopPerClip.toFixed(1)} GFLOP/clip / 20.0 GFLOP/s`);
    expect(text).toContain('note: a note');
  });
  it('shows a failed case as n/a with its reason', () => {
    const text = formatSpeedReport([], [{ section: 'train', case: 'BEATs', ours: Number.NaN, unit: 'clips/s', note: 'FAILED: RuntimeError: memory access out of bounds' }], null);
    expect(text.split('\n').find((l) => l.startsWith('train'))).toMatch(/^train +BEATs +n\/a +- +- +- +FAILED: RuntimeError: memory access out of bounds$/);
  });
});
