import { loadReferenceJson, maxAbsDiff } from '@anopatch/test-fixtures';
import { describe, expect, it } from 'vitest';

import { DomainMinDetector, ExactBank, HnswBank, type KnnBank } from './index.js';

interface KnnFixture {
  single_bank: { bank: number[][]; queries: number[][]; distance: number[]; index: number[]; all_distances: number[][] };
  two_bank: {
    source_bank: number[][];
    target_bank: number[][];
    queries: number[][];
    source_distance: number[];
    source_index: number[];
    target_distance: number[];
    target_index: number[];
    score: number[];
    from_bank: string[];
  };
}

const ref = loadReferenceJson<KnnFixture>('knn.json');
const dim = ref.single_bank.bank[0]!.length;

/**
 * Tolerance: the reference is float64 end to end; our banks store unit rows as float32 (embeddings
 * are float32 anyway) and accumulate in float64, so a distance can differ by ~1e-7. 1e-6 absolute.
 */
const ATOL = 1e-6;

const makers: [string, () => KnnBank][] = [
  ['ExactBank', () => new ExactBank({ dim })],
  ['HnswBank', () => new HnswBank({ dim })],
];

describe.each(makers)('%s against knn.json (atol %s)', (_name, make) => {
  it('single bank: nearest distance and index match sklearn', () => {
    const bank = make();
    bank.add(ref.single_bank.bank);
    const res = bank.search(ref.single_bank.queries);
    expect(res.count).toBe(ref.single_bank.queries.length);
    expect(Array.from(res.indices)).toEqual(ref.single_bank.index);
    expect(maxAbsDiff(res.scores, ref.single_bank.distance)).toBeLessThanOrEqual(ATOL);
    // Query 2 is a scaled copy of bank row 5: a self-match at distance ~0.
    expect(res.indices[2]).toBe(5);
    expect(res.scores[2]).toBeLessThan(ATOL);
  });

  it('single bank: k = bank size returns every distance, sorted', () => {
    const bank = make();
    bank.add(ref.single_bank.bank);
    const n = ref.single_bank.bank.length;
    const res = bank.search(ref.single_bank.queries, { k: n });
    for (let q = 0; q < res.count; q++) {
      const row = ref.single_bank.all_distances[q]!;
      const got = Array.from(res.distances.subarray(q * n, (q + 1) * n));
      const idx = Array.from(res.indices.subarray(q * n, (q + 1) * n));
      expect(maxAbsDiff(got, idx.map((j) => row[j]!))).toBeLessThanOrEqual(ATOL);
      expect(maxAbsDiff(got, [...row].sort((a, b) => a - b))).toBeLessThanOrEqual(ATOL);
      const mean = row.reduce((a, b) => a + b, 0) / n;
      expect(Math.abs(res.scores[q]! - mean)).toBeLessThanOrEqual(ATOL);
    }
  });

  it('two banks: per-bank distances, indices and the min score match', () => {
    const t = ref.two_bank;
    const det = new DomainMinDetector({ factory: make });
    det.add('source', t.source_bank);
    det.add('target', t.target_bank);
    const out = det.scoreBatch(t.queries);
    expect(out.map((o) => o.source.neighbourIndex)).toEqual(t.source_index);
    expect(out.map((o) => o.target.neighbourIndex)).toEqual(t.target_index);
    expect(maxAbsDiff(out.map((o) => o.source.score), t.source_distance)).toBeLessThanOrEqual(ATOL);
    expect(maxAbsDiff(out.map((o) => o.target.score), t.target_distance)).toBeLessThanOrEqual(ATOL);
    expect(maxAbsDiff(out.map((o) => o.score), t.score)).toBeLessThanOrEqual(ATOL);
    expect(out.map((o) => o.domain)).toEqual(t.from_bank);
  });
});
