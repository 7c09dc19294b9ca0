import { Raster, type Rgb } from './raster.js';

/** Colour-blind-safe palette (Okabe-Ito). */
export const PALETTE: readonly Rgb[] = [
  [0, 114, 178], [230, 159, 0], [0, 158, 115], [204, 121, 167], [86, 180, 233], [213, 94, 0], [240, 228, 66], [0, 0, 0],
];

export interface BarSeries {
  name: string;
  /** One value per category; NaN leaves a gap (e.g. the paper has no figure there). */
  values: readonly number[];
}

export interface BarChartSpec {
  title: string;
  categories: readonly string[];
  series: readonly BarSeries[];
  yLabel?: string;
  /** Value range of the y axis; default [0, 100] (percent). */
  yRange?: readonly [number, number];
  width?: number;
  height?: number;
}

const AXIS: Rgb = [60, 60, 60];
const GRID: Rgb = [225, 225, 225];

/** Grouped bar chart as PNG bytes (ours vs paper per machine type). */
export function barChartPng(spec: BarChartSpec): Uint8Array {
  const names = spec.series.map((s) => s.name);
  const width =
    spec.width ?? Math.max(520, 90 + spec.categories.length * (spec.series.length * 22 + 26), (spec.title.length + 4) * Raster.charWidth, 72 + legendWidth(names) * names.length);
  const legendRows = legendLayout(names, width - 72).rows;
  const height = spec.height ?? 340 + 20 * legendRows;
  const [lo, hi] = spec.yRange ?? [0, 100];
  const r = new Raster(width, height);
  const plot = { left: 56, right: width - 16, top: 48, bottom: height - 38 - 20 * legendRows };
  r.text(width / 2, 8, spec.title, AXIS, 'center');
  const y = (v: number) => plot.bottom - ((Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo)) * (plot.bottom - plot.top);
  for (let k = 0; k <= 5; k++) {
    const v = lo + ((hi - lo) * k) / 5;
    r.line(plot.left, y(v), plot.right, y(v), GRID);
    r.text(plot.left - 6, y(v) - Raster.charHeight / 2, formatTick(v), AXIS, 'right');
  }
  if (spec.yLabel) r.text(4, plot.top - 20, spec.yLabel, AXIS);
  const groupWidth = (plot.right - plot.left) / Math.max(1, spec.categories.length);
  const barWidth = Math.min(22, (groupWidth - 12) / Math.max(1, spec.series.length));
  spec.categories.forEach((cat, ci) => {
    const gx = plot.left + ci * groupWidth + (groupWidth - barWidth * spec.series.length) / 2;
    spec.series.forEach((s, si) => {
      const v = s.values[ci];
      if (v === undefined || Number.isNaN(v)) return;
      r.fillRect(gx + si * barWidth, y(v), barWidth - 2, plot.bottom - y(v), PALETTE[si % PALETTE.length]!);
    });
    r.text(plot.left + ci * groupWidth + groupWidth / 2, plot.bottom + 6, cat, AXIS, 'center');
  });
  r.line(plot.left, plot.top, plot.left, plot.bottom, AXIS);
  r.line(plot.left, plot.bottom, plot.right, plot.bottom, AXIS);
  legend(r, names, plot.left, plot.bottom + 28, legendLayout(names, width - 72).perRow);
  return r.toPng();
}

export interface LineSeries {
  name: string;
  points: readonly (readonly [number, number])[];
}

export interface LineChartSpec {
  title: string;
  series: readonly LineSeries[];
  xLabel: string;
  yLabel: string;
  xRange?: readonly [number, number];
  yRange?: readonly [number, number];
  /** Draw the y = x chance diagonal (ROC curves). */
  diagonal?: boolean;
  width?: number;
  height?: number;
}

/** Line chart as PNG bytes (ROC curves per machine type). */
export function lineChartPng(spec: LineChartSpec): Uint8Array {
  const width = spec.width ?? 420;
  const height = spec.height ?? 420;
  const [x0, x1] = spec.xRange ?? [0, 1];
  const [y0, y1] = spec.yRange ?? [0, 1];
  const r = new Raster(width, height);
  const legendRows = Math.ceil(spec.series.length / 3);
  const plot = { left: 52, right: width - 16, top: 36, bottom: height - 48 - legendRows * 20 };
  r.text(width / 2, 8, spec.title, AXIS, 'center');
  const px = (v: number) => plot.left + ((v - x0) / (x1 - x0)) * (plot.right - plot.left);
  const py = (v: number) => plot.bottom - ((v - y0) / (y1 - y0)) * (plot.bottom - plot.top);
  for (let k = 0; k <= 5; k++) {
    const vx = x0 + ((x1 - x0) * k) / 5;
    const vy = y0 + ((y1 - y0) * k) / 5;
    r.line(px(vx), plot.top, px(vx), plot.bottom, GRID);
    r.line(plot.left, py(vy), plot.right, py(vy), GRID);
    r.text(px(vx), plot.bottom + 4, formatTick(vx), AXIS, 'center');
    r.text(plot.left - 6, py(vy) - Raster.charHeight / 2, formatTick(vy), AXIS, 'right');
  }
  if (spec.diagonal) r.line(px(x0), py(y0), px(x1), py(y1), [170, 170, 170]);
  spec.series.forEach((s, si) => {
    const c = PALETTE[si % PALETTE.length]!;
    for (let k = 1; k < s.points.length; k++) {
      const [ax, ay] = s.points[k - 1]!;
      const [bx, by] = s.points[k]!;
      r.line(px(ax), py(ay), px(bx), py(by), c, 2);
    }
  });
  r.line(plot.left, plot.top, plot.left, plot.bottom, AXIS);
  r.line(plot.left, plot.bottom, plot.right, plot.bottom, AXIS);
  r.text((plot.left + plot.right) / 2, plot.bottom + 22, spec.xLabel, AXIS, 'center');
  r.text(4, plot.top - 22, spec.yLabel, AXIS);
  legend(r, spec.series.map((s) => s.name), plot.left, plot.bottom + 42, 3);
  return r.toPng();
}

function legendWidth(names: readonly string[]): number {
  return Math.max(...names.map((n) => n.length), 4) * Raster.charWidth + 28;
}

/** How many legend entries fit a row of `available` pixels, and how many rows that makes. */
function legendLayout(names: readonly string[], available: number): { perRow: number; rows: number } {
  const perRow = Math.max(1, Math.min(names.length, Math.floor(available / legendWidth(names))));
  return { perRow, rows: Math.ceil(names.length / perRow) };
}

function legend(r: Raster, names: readonly string[], left: number, top: number, perRow = names.length): void {
  const colWidth = legendWidth(names);
  names.forEach((name, i) => {
    const x = left + (i % perRow) * colWidth;
    const y = top + Math.floor(i / perRow) * 20;
    r.fillRect(x, y + 3, 12, 12, PALETTE[i % PALETTE.length]!);
    r.text(x + 16, y, name, AXIS);
  });
}

function formatTick(v: number): string {
  return Math.abs(v - Math.round(v)) < 1e-9 ? String(Math.round(v)) : v.toFixed(1);
}
