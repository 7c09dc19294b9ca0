/** Deterministic Gaussian rows for tests (mulberry32 + Box-Muller): no dependence on Math.random. */
export function gaussianRows(n: number, dim: number, seed: number): number[][] {
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rows: number[][] = [];
  for (let r = 0; r < n; r++) {
    const row: number[] = [];
    for (let i = 0; i < dim; i++) row.push(Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform()));
    rows.push(row);
  }
  return rows;
}
