import { inflateSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { barChartPng, encodePng, htmlReport, lineChartPng, Raster } from './index.js';

/** Decode our own PNGs (filter 0, RGBA 8-bit) back to pixels so tests can look at what was drawn. */
function decode(png: Uint8Array): { width: number; height: number; rgba: Uint8Array } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let offset = 8;
  let width = 0;
  let height = 0;
  const idat: Uint8Array[] = [];
  while (offset < png.length) {
    const len = view.getUint32(offset);
    const type = new TextDecoder().decode(png.subarray(offset + 4, offset + 8));
    if (type === 'IHDR') {
      width = view.getUint32(offset + 8);
      height = view.getUint32(offset + 12);
    }
    if (type === 'IDAT') idat.push(png.subarray(offset + 8, offset + 8 + len));
    offset += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (width * 4 + 1)]).toBe(0);
    rgba.set(raw.subarray(y * (width * 4 + 1) + 1, (y + 1) * (width * 4 + 1)), y * width * 4);
  }
  return { width, height, rgba };
}

describe('PNG report charts', () => {
  it('encodes pixels losslessly', () => {
    const rgba = Uint8Array.from({ length: 3 * 2 * 4 }, (_, i) => (i * 37) % 256);
    const back = decode(encodePng(3, 2, rgba));
    expect(back).toMatchObject({ width: 3, height: 2 });
    expect(Array.from(back.rgba)).toEqual(Array.from(rgba));
  });

  it('draws text glyphs and rectangles where asked', () => {
    const r = new Raster(40, 20);
    r.fillRect(0, 0, 4, 4, [255, 0, 0]);
    expect(Array.from(r.pixels.subarray(0, 4))).toEqual([255, 0, 0, 255]);
    r.text(10, 0, 'A', [0, 0, 0]);
    let dark = 0;
    for (let y = 0; y < Raster.charHeight; y++) for (let x = 10; x < 10 + Raster.charWidth; x++) if (r.pixels[(y * 40 + x) * 4]! < 128) dark++;
    expect(dark).toBeGreaterThan(8); // an 'A' covers pixels; a space would not
  });

  it('renders a grouped bar chart whose bar heights follow the values', () => {
    const png = barChartPng({ title: 'ours vs paper', categories: ['fan', 'pump'], series: [{ name: 'ours', values: [50, 100] }], width: 300, height: 300 });
    const { width, rgba } = decode(png);
    // the first palette colour (0,114,178) fills the bar; count its pixels per category column
    const blueRows = (x0: number, x1: number) => {
      let rows = 0;
      // rows above the x axis only (the legend swatch below uses the same colour)
      for (let y = 0; y < 300 - 58; y++) {
        for (let x = x0; x < x1; x++) {
          const i = (y * width + x) * 4;
          if (rgba[i] === 0 && rgba[i + 1] === 114 && rgba[i + 2] === 178) {
            rows++;
            break;
          }
        }
      }
      return rows;
    };
    const fan = blueRows(56, 170);
    const pump = blueRows(170, 284);
    expect(pump / fan).toBeGreaterThan(1.8);
    expect(pump / fan).toBeLessThan(2.2);
  });

  it('renders ROC curves and a self-contained HTML report', () => {
    const png = lineChartPng({ title: 'ROC fan', xLabel: 'FPR', yLabel: 'TPR', diagonal: true, series: [{ name: 'id_00', points: [[0, 0], [0.1, 0.8], [1, 1]] }] });
    expect(decode(png).width).toBe(420);
    const html = htmlReport('Run <1>', [{ kind: 'table', table: { header: ['type', 'AUC'], rows: [['fan', 91.234]] } }, { kind: 'image', png, alt: 'roc' }]);
    expect(html).toContain('<title>Run &lt;1&gt;</title>');
    expect(html).toContain('<td class="n">91.23</td>');
    expect(html).toContain('src="data:image/png;base64,iVBORw0KGgo');
  });
});
