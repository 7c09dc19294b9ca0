/**
 * Small seeded PRNG shared by SpecAugment, dcase-synth and the trainer, so a run is reproducible from its
 * seed and resumable from `state`. mulberry32: 32-bit state, full 2^32 period, good enough for masks,
 * noise and shuffling (not for cryptography).
 */
export function mulberry32(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

export class Rng {
  private s: number;
  /** Second Box-Muller value, kept so normal() uses both outputs of each pair. */
  private spare: number | undefined;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`Rng.int: n must be a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** Uniform in [lo, hi). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal (Box-Muller). */
  normal(mean = 0, std = 1): number {
    if (this.spare !== undefined) {
      const z = this.spare;
      this.spare = undefined;
      return mean + std * z;
    }
    // 1 - next() is in (0, 1], so the log is finite
    const r = Math.sqrt(-2 * Math.log(1 - this.next()));
    const theta = 2 * Math.PI * this.next();
    this.spare = r * Math.sin(theta);
    return mean + std * r * Math.cos(theta);
  }

  /** Fisher-Yates shuffle in place; returns the same array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }

  /** An independent generator derived from this one (e.g. one per worker or per clip). */
  fork(): Rng {
    return new Rng(Math.floor(this.next() * 4294967296));
  }

  /** Everything needed to resume the exact sequence: `Rng.fromState(rng.state)`. */
  get state(): { s: number; spare: number | null } {
    return { s: this.s, spare: this.spare ?? null };
  }

  static fromState(state: { s: number; spare: number | null }): Rng {
    const rng = new Rng(state.s);
    rng.spare = state.spare ?? undefined;
    return rng;
  }
}
