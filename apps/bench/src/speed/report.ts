/** One measured case of `anopatch-bench speed`, ours and (when available) the PyTorch reference. */
export interface SpeedRow {
  section: string;
  case: string;
  /** throughput (higher is better) in `unit` */
  ours: number;
  unit: string;
  /** the PyTorch reference's throughput in the same unit */
  reference?: number;
  /** where the reference figure came from: 'live' (this run) or a committed file (another run) */
  referenceSource?: string;
  peakRssMiB?: number;
  note?: string;
}

export interface FloorLine {
  gflopPerClip: number;
  peakGflops: number;
  backend: string;
  /** seconds per 10 s clip at the matmul peak: no implementation on this backend can be faster */
  floorSecondsPerClip: number;
  /** clips/s at that floor */
  floorClipsPerSecond: number;
}

/** GFLOP per clip over the measured matmul peak: the arithmetic floor of one forward pass. */
export function arithmeticFloor(flopPerClip: number, peakGflops: number, backend: string): FloorLine {
  const gflopPerClip = flopPerClip / 1e9;
  const floorSecondsPerClip = gflopPerClip / peakGflops;
  return { gflopPerClip, peakGflops, backend, floorSecondsPerClip, floorClipsPerSecond: 1 / floorSecondsPerClip };
}

/** ours / reference throughput (> 1: we are faster); null without a reference. */
export function ratio(row: Pick<SpeedRow, 'ours' | 'reference'>): number | null {
  return row.reference === undefined || !(row.reference > 0) ? null : row.ours / row.reference;
}

const num = (v: number): string => (!Number.isFinite(v) ? 'n/a' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(3));

/** The terminal report: one aligned line per case, then the floor and the notes. */
export function formatSpeedReport(header: string[], rows: readonly SpeedRow[], floor: FloorLine | null, notes: readonly string[] = []): string {
  const cells = rows.map((r) => {
    const q = ratio(r);
    return [
      r.section,
      r.case,
      Number.isFinite(r.ours) ? `${num(r.ours)} ${r.unit}` : 'n/a',
      r.reference === undefined ? '-' : `${num(r.reference)} ${r.unit}${r.referenceSource && r.referenceSource !== 'live' ? ` (${r.referenceSource})` : ''}`,
      q === null ? '-' : `${q.toFixed(2)}x`,
      r.peakRssMiB === undefined ? '-' : `${r.peakRssMiB.toFixed(0)} MiB`,
      r.note ?? '',
    ];
  });
  const head = ['section', 'case', 'ours', 'PyTorch reference', 'ours/ref', 'peak RSS', 'note'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [...header, '', line(head), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)];
  if (floor) {
    out.push(
      '',
      `arithmetic floor (full-size BEATs, 10 s clip): ${floor.gflopPerClip.toFixed(1)} GFLOP/clip / ${floor.peakGflops.toFixed(1)} GFLOP/s measured ${floor.backend} matmul peak = ${floor.floorSecondsPerClip.toFixed(2)} s/clip (${num(floor.floorClipsPerSecond)} clips/s at best)`,
    );
  }
  if (notes.length) out.push('', ...notes.map((n) => `note: ${n}`));
  return out.join('\n');
}
