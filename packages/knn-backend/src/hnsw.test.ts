import { describe, expect, it } from 'vitest';

import { ExactBank, HNSW_DEFAULTS, HnswBank, InvalidKnnParameterError } from './index.js';
import { gaussianRows } from './__tests__/random.js';

describe('HnswBank', () => {
  it('has recall@1 >= 0.99 against ExactBank with default parameters (3k random 128-d rows, independent queries)', () => {
    // The 20k case runs in the benchmark (anopatch-bench speed); this is its CI-sized twin.
    const dim = 128;
    const rows = gaussianRows(3000, dim, 11);
    const queries = gaussianRows(300, dim, 12);
    const exact = new ExactBank({ dim });
    exact.add(rows);
    const hnsw = new HnswBank({ dim });
    hnsw.add(rows);
    expect([hnsw.m, hnsw.efConstruction, hnsw.efSearch]).toEqual([HNSW_DEFAULTS.m, HNSW_DEFAULTS.efConstruction, HNSW_DEFAULTS.efSearch]);
    const e = exact.search(queries);
    const h = hnsw.search(queries);
    let hits = 0;
    for (let q = 0; q < 300; q++) if (e.indices[q] === h.indices[q]) hits++;
    expect(hits / 300).toBeGreaterThanOrEqual(0.99);
    // Candidates are re-ranked exactly: where HNSW found the true neighbour the distance is ExactBank's, bit for bit.
    for (let q = 0; q < 300; q++) if (e.indices[q] === h.indices[q]) expect(h.scores[q]).toBe(e.scores[q]);
  });

  it('finds bank rows themselves, across several adds that resize the graph', () => {
    const dim = 16;
    const rows = gaussianRows(500, dim, 21);
    const bank = new HnswBank({ dim, m: 8, efConstruction: 50, efSearch: 50 });
    for (let i = 0; i < 500; i += 100) bank.add(rows.slice(i, i + 100));
    expect(bank.size).toBe(500);
    const res = bank.search(rows.map((r) => r.map((x) => 2 * x)));
    let self = 0;
    for (let q = 0; q < 500; q++) if (res.indices[q] === q) self++;
    expect(self).toBe(500);
  });

  it('resolves exact ties to the lower index like ExactBank', () => {
    const bank = new HnswBank({ dim: 3 });
    bank.add([
      [0, 0, 1],
      [1, 1, 0],
      [2, 2, 0],
      [0, 1, 0],
    ]);
    const s = bank.score([1, 0.8, 0], { k: 2 });
    expect(s.neighbours.map((n) => n.index)).toEqual([1, 2]);
  });

  it('keeps efSearch adjustable and validates its parameters', () => {
    const bank = new HnswBank({ dim: 4, efSearch: 10 });
    bank.add(gaussianRows(20, 4, 1));
    bank.efSearch = 40;
    expect(bank.efSearch).toBe(40);
    expect(() => (bank.efSearch = 0)).toThrow(InvalidKnnParameterError);
    expect(() => new HnswBank({ dim: 4, m: -1 })).toThrow(InvalidKnnParameterError);
    expect(() => new HnswBank({ dim: 4, seed: 1.5 })).toThrow(InvalidKnnParameterError);
  });

  it('builds the same graph for the same seed and insertion order', () => {
    const dim = 32;
    const rows = gaussianRows(800, dim, 31);
    const queries = gaussianRows(100, dim, 32);
    const a = new HnswBank({ dim, m: 4, efConstruction: 8, efSearch: 4 });
    const b = new HnswBank({ dim, m: 4, efConstruction: 8, efSearch: 4 });
    a.add(rows);
    b.add(rows);
    expect(Array.from(a.search(queries).indices)).toEqual(Array.from(b.search(queries).indices));
  });
});
