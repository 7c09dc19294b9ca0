import { describe, expect, it } from 'vitest';

import {
  DimensionMismatchError,
  EmptyBankError,
  ExactBank,
  InvalidKnnParameterError,
  NonFiniteVectorError,
  ZeroVectorError,
} from './index.js';
import { gaussianRows } from './__tests__/random.js';

/** Plain float64 brute force written the obvious way, to check the blocked kernel against. */
function naive(bank: number[][], q: number[]): { d: number; j: number }[] {
  const unit = (v: number[]): number[] => {
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  const qu = unit(q);
  return bank
    .map((b, j) => {
      const bu = unit(b);
      return { d: 1 - bu.reduce((s, x, i) => s + x * qu[i]!, 0), j };
    })
    .sort((a, b) => a.d - b.d || a.j - b.j);
}

describe('ExactBank', () => {
  it('matches a naive float64 search across block boundaries and query tiles', () => {
    const dim = 24;
    // 2601 rows: three 1024-row blocks, the last with an odd row count (the tiles' leftover-row paths);
    // 7 queries: one 4-query tile + 3 single queries.
    const bankRows = gaussianRows(2601, dim, 1);
    const queries = gaussianRows(7, dim, 2);
    const bank = new ExactBank({ dim, k: 3 });
    bank.add(bankRows);
    const res = bank.search(queries);
    for (let q = 0; q < 7; q++) {
      const want = naive(bankRows, queries[q]!).slice(0, 3);
      expect(Array.from(res.indices.subarray(q * 3, q * 3 + 3))).toEqual(want.map((w) => w.j));
      for (let r = 0; r < 3; r++) expect(Math.abs(res.distances[q * 3 + r]! - want[r]!.d)).toBeLessThan(1e-6);
      expect(Math.abs(res.scores[q]! - (want[0]!.d + want[1]!.d + want[2]!.d) / 3)).toBeLessThan(1e-6);
    }
  });

  it('accepts packed rows, row lists of typed arrays and plain arrays alike, and batch equals one-by-one', () => {
    const dim = 8;
    const rows = gaussianRows(50, dim, 3);
    const packed = Float32Array.from(rows.flat());
    const a = new ExactBank({ dim });
    a.add(packed);
    const b = new ExactBank({ dim });
    b.add(rows.map((r) => Float64Array.from(r)));
    const queries = gaussianRows(9, dim, 4);
    const ra = a.search(Float64Array.from(queries.flat()));
    const rb = b.search(queries);
    expect(Array.from(ra.indices)).toEqual(Array.from(rb.indices));
    const one = queries.map((q) => a.score(q));
    expect(one.map((s) => s.neighbourIndex)).toEqual(Array.from(ra.indices));
    expect(one.map((s) => s.score)).toEqual(Array.from(ra.scores));
  });

  it('resolves exact ties to the lower row index, whatever the k', () => {
    const dim = 4;
    const bank = new ExactBank({ dim });
    // Rows 1, 3 and 4 point the same way (scaled copies): equidistant from any query.
    bank.add([
      [0, 1, 0, 0],
      [1, 1, 0, 0],
      [0, 0, 1, 0],
      [2, 2, 0, 0],
      [0.5, 0.5, 0, 0],
    ]);
    const s = bank.score([1, 0.9, 0, 0], { k: 3 });
    expect(s.neighbourIndex).toBe(1);
    expect(s.neighbours.map((n) => n.index)).toEqual([1, 3, 4]);
    expect(s.neighbours[0]!.distance).toBe(s.neighbours[2]!.distance);
    // Same with the query repeated to fill a 4-query tile (the tiled path of the kernel).
    const batch = bank.search([[1, 0.9, 0, 0], [1, 0.9, 0, 0], [1, 0.9, 0, 0], [1, 0.9, 0, 0]]);
    expect(Array.from(batch.indices)).toEqual([1, 1, 1, 1]);
    // A tie inside one row pair of the tile (rows 2 and 3 identical): the lower index first.
    const pair = new ExactBank({ dim: 2, k: 2 });
    pair.add([
      [0, 1],
      [1, 1],
      [3, 0],
      [3, 0],
    ]);
    const rep = [1, 0.1];
    const tiled = pair.search([rep, rep, rep, rep, rep]);
    expect(Array.from(tiled.indices)).toEqual([2, 3, 2, 3, 2, 3, 2, 3, 2, 3]);
  });

  it('averages the k nearest distances for k > 1 and reports ids', () => {
    const bank = new ExactBank({ dim: 2, k: 2 });
    bank.add(
      [
        [1, 0],
        [0, 1],
        [-1, 0],
      ],
      ['a.wav', 'b.wav', 'c.wav'],
    );
    const s = bank.score([1, 1]);
    // cos 45 deg to both a and b: distance 1 - 1/sqrt(2) each.
    const d = 1 - Math.SQRT1_2;
    expect(s.score).toBeCloseTo(d, 12);
    expect(s.neighbours.map((n) => n.id)).toEqual(['a.wav', 'b.wav']);
    expect(s.neighbourId).toBe('a.wav');
    expect(bank.score([1, 1], { k: 3 }).score).toBeCloseTo((2 * d + 1 + Math.SQRT1_2) / 3, 12);
    expect(bank.score([-1, 0], { k: 1 }).score).toBe(0);
  });

  it('numbers rows across several adds, growing past its initial capacity', () => {
    const dim = 3;
    const bank = new ExactBank({ dim });
    const all = gaussianRows(300, dim, 5);
    for (let i = 0; i < 300; i += 37) bank.add(all.slice(i, i + 37));
    expect(bank.size).toBe(300);
    expect(bank.ids[299]).toBe('299');
    const s = bank.score(all[250]!.map((x) => x * 7));
    expect(s.neighbourIndex).toBe(250);
    expect(s.score).toBeLessThan(1e-6);
    const v = bank.vectors();
    expect(v.length).toBe(300 * dim);
    expect(Math.hypot(v[0]!, v[1]!, v[2]!)).toBeCloseTo(1, 6);
  });

  it('normalises huge and tiny vectors without overflow or underflow', () => {
    const bank = new ExactBank({ dim: 2 });
    bank.add([
      [1e200, 1e200],
      [1e-300, 0],
    ]);
    expect(bank.score([3, 3]).neighbourIndex).toBe(0);
    expect(bank.score([3, 3]).score).toBeLessThan(1e-7);
    expect(bank.score([1e-310, 0]).neighbourIndex).toBe(1);
  });

  it('throws typed errors for bad vectors, bad k and an empty bank, and stays unchanged after a rejected add', () => {
    const bank = new ExactBank({ dim: 3, name: 'fan/id_00' });
    expect(() => bank.score([1, 0, 0])).toThrow(EmptyBankError);
    expect(() => bank.add([[1, 2]])).toThrow(DimensionMismatchError);
    expect(() => bank.add(new Float32Array(7))).toThrow(DimensionMismatchError);
    expect(() => bank.add([[1, 0, 0], [0, 0, 0]])).toThrow(ZeroVectorError);
    expect(() => bank.add([[1, Number.NaN, 0]])).toThrow(NonFiniteVectorError);
    expect(() => bank.add([[1, Number.POSITIVE_INFINITY, 0]])).toThrow(NonFiniteVectorError);
    expect(() => bank.add([[1, 0, 0]], ['a', 'b'])).toThrow(InvalidKnnParameterError);
    expect(bank.size).toBe(0);
    bank.add([[1, 0, 0]]);
    expect(() => bank.score([1, 0])).toThrow(DimensionMismatchError);
    expect(() => bank.score([0, 0, 0])).toThrow(ZeroVectorError);
    expect(() => bank.score([Number.NaN, 0, 0])).toThrow(NonFiniteVectorError);
    expect(() => bank.score([1, 0, 0], { k: 2 })).toThrow(InvalidKnnParameterError);
    expect(() => bank.score([1, 0, 0], { k: 0 })).toThrow(InvalidKnnParameterError);
    expect(() => new ExactBank({ dim: 0 })).toThrow(InvalidKnnParameterError);
    expect(() => new ExactBank({ dim: 4, k: 1.5 })).toThrow(InvalidKnnParameterError);
    try {
      bank.add([[0, 0, 0]]);
    } catch (err) {
      expect((err as Error).message).toContain('fan/id_00');
      expect((err as Error).message).toContain('row 0');
    }
  });

  it('returns an empty result for zero queries', () => {
    const bank = new ExactBank({ dim: 2 });
    bank.add([[1, 0]]);
    const res = bank.search([]);
    expect(res.count).toBe(0);
    expect(res.scores.length).toBe(0);
  });
});
