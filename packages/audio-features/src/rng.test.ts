import { describe, expect, it } from 'vitest';

import { mulberry32, Rng } from './rng.js';

describe('Rng', () => {
  it('is deterministic per seed and matches the mulberry32 reference sequence', () => {
    // the canonical public-domain mulberry32 closure (Tommy Ettinger), written out independently
    const canonical = (seed: number): (() => number) => {
      let a = seed;
      return () => {
        let t = (a += 0x6d2b79f5);
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
    };
    for (const seed of [0, 1, 123456789]) {
      const r = new Rng(seed);
      const c = canonical(seed);
      for (let i = 0; i < 100; i++) expect(r.next()).toBe(c());
    }
    expect(Math.round(new Rng(1).next() * 4294967296)).toBe(2693262067);
    const a = mulberry32(42);
    const b = mulberry32(42);
    for (let i = 0; i < 5; i++) expect(a()).toBe(b());
    expect(new Rng(42).next()).not.toBe(new Rng(43).next());
  });

  it('int, uniform and normal have the right ranges and moments', () => {
    const r = new Rng(7);
    const counts = new Array<number>(5).fill(0);
    let sum = 0;
    let sq = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const k = r.int(5);
      counts[k]! += 1;
      const u = r.uniform(2, 3);
      expect(u >= 2 && u < 3).toBe(true);
      const z = r.normal();
      sum += z;
      sq += z * z;
    }
    for (const c of counts) expect(Math.abs(c / n - 0.2)).toBeLessThan(0.02);
    expect(Math.abs(sum / n)).toBeLessThan(0.03);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.05);
    expect(() => r.int(0)).toThrow(RangeError);
  });

  it('resumes exactly from its state, and shuffles reproducibly', () => {
    const r = new Rng(9);
    r.next();
    r.normal();
    const resumed = Rng.fromState(r.state);
    for (let i = 0; i < 4; i++) expect(resumed.normal()).toBe(r.normal());
    const s1 = new Rng(5).shuffle([1, 2, 3, 4, 5, 6]);
    expect(new Rng(5).shuffle([1, 2, 3, 4, 5, 6])).toEqual(s1);
    expect([...s1].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Rng(3).fork().next()).toBe(new Rng(3).fork().next());
  });
});
