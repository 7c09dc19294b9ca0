import { deflateSync } from 'node:zlib';

/** CRC-32 (PNG chunk checksums). */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** RGB image -> PNG bytes (8-bit truecolour, no filter, zlib from node). */
export function encodeRgbPng(width: number, height: number, rgb: Uint8Array): Uint8Array {
  const raw = new Uint8Array(height * (1 + 3 * width));
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * 3 * width, (y + 1) * 3 * width), y * (1 + 3 * width) + 1);
  const chunk = (type: string, data: Uint8Array): Uint8Array => {
    const out = new Uint8Array(12 + data.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, data.length);
    for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
    out.set(data, 8);
    v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  const hv = new DataView(ihdr.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const parts = [Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))];
  const total = parts.reduce((s, p) => s + p.length, 0);
  const png = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    png.set(p, at);
    at += p.length;
  }
  return png;
}

export const SERIES_COLOURS: readonly (readonly [number, number, number])[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
];

/**
 * Grouped bar chart of percentages (one group per category, one bar per series), y axis 0..100 with
 * grid lines every 10. Text (names, values) goes in the HTML beside it: the PNG stays font-free.
 */
export function barChartPng(categories: readonly string[], series: readonly { values: readonly number[] }[]): Uint8Array {
  const bar = 14;
  const gap = 22;
  const groupW = series.length * bar + gap;
  const width = 40 + categories.length * groupW + 20;
  const height = 240;
  const top = 10;
  const bottom = height - 20;
  const rgb = new Uint8Array(width * height * 3).fill(255);
  const px = (x: number, y: number, c: readonly [number, number, number]): void => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    rgb.set(c, (y * width + x) * 3);
  };
  const yOf = (pct: number): number => Math.round(bottom - ((bottom - top) * Math.max(0, Math.min(100, pct))) / 100);
  for (let g = 0; g <= 100; g += 10) {
    const y = yOf(g);
    const shade: readonly [number, number, number] = g === 50 ? [150, 150, 150] : [225, 225, 225];
    for (let x = 36; x < width - 10; x++) px(x, y, shade);
  }
  for (let y = top; y <= bottom; y++) px(36, y, [60, 60, 60]);
  categories.forEach((_, ci) => {
    series.forEach((s, si) => {
      const v = s.values[ci];
      if (v === undefined || !Number.isFinite(v)) return;
      const x0 = 40 + ci * groupW + gap / 2 + si * bar;
      for (let y = yOf(v); y < bottom; y++) for (let x = x0; x < x0 + bar - 2; x++) px(x, y, SERIES_COLOURS[si % SERIES_COLOURS.length]!);
    });
  });
  return encodeRgbPng(width, height, rgb);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export interface SummaryTable {
  caption: string;
  header: string[];
  rows: (string | number)[][];
}

/** A self-contained HTML page: notes, tables and the chart embedded as a data URL. */
export function summaryHtml(title: string, notes: readonly string[], tables: readonly SummaryTable[], chart: { png: Uint8Array; legend: string[] }): string {
  const table = (t: SummaryTable): string =>
    `<table><caption>${escapeHtml(t.caption)}</caption><tr>${t.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>${t.rows
      .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(String(c))}</td>`).join('')}</tr>`)
      .join('')}</table>`;
  const legend = chart.legend
    .map((name, i) => `<span style="display:inline-block;width:12px;height:12px;background:rgb(${SERIES_COLOURS[i % SERIES_COLOURS.length]!.join(',')})"></span> ${escapeHtml(name)}`)
    .join(' &nbsp; ');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}caption{text-align:left;font-weight:bold}.note{background:#fff4e0;padding:.5em 1em}</style>
</head><body>
<h1>${escapeHtml(title)}</h1>
${notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('\n')}
${tables.map(table).join('\n')}
<p>${legend} (y axis 0-100 %, grid every 10, the darker line at 50 %)</p>
<img alt="per machine type AUC and pAUC" src="data:image/png;base64,${Buffer.from(chart.png).toString('base64')}">
</body></html>
`;
}
