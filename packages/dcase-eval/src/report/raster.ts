import { FIRST_CHAR, GLYPH_ALPHA_BASE64, GLYPH_HEIGHT, GLYPH_WIDTH } from './font-data.js';
import { encodePng } from './png.js';

export type Rgb = readonly [number, number, number];

let glyphs: Uint8Array | undefined;
function glyphAtlas(): Uint8Array {
  glyphs ??= Uint8Array.from(Buffer.from(GLYPH_ALPHA_BASE64, 'base64'));
  return glyphs;
}

/** A minimal RGBA raster for charts: rectangles, anti-aliased-enough lines, monospace text. */
export class Raster {
  readonly pixels: Uint8Array;
  static readonly charWidth = GLYPH_WIDTH;
  static readonly charHeight = GLYPH_HEIGHT;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.pixels = new Uint8Array(width * height * 4);
    this.fillRect(0, 0, width, height, background);
  }

  /** Blend colour `c` into pixel (x, y) with coverage `alpha` in [0, 1]. */
  blend(x: number, y: number, c: Rgb, alpha = 1): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || alpha <= 0) return;
    const i = (y * this.width + x) * 4;
    const a = Math.min(1, alpha);
    for (let k = 0; k < 3; k++) this.pixels[i + k] = Math.round(this.pixels[i + k]! * (1 - a) + c[k]! * a);
    this.pixels[i + 3] = 255;
  }

  fillRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) this.blend(xx, yy, c);
  }

  /** A line of the given thickness, sampled densely (charts need clarity, not speed). */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness = 1): void {
    const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) * 2));
    const r = thickness / 2;
    for (let s = 0; s <= steps; s++) {
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      for (let dy = -Math.ceil(r); dy <= Math.ceil(r); dy++) {
        for (let dx = -Math.ceil(r); dx <= Math.ceil(r); dx++) {
          const d = Math.hypot(dx, dy);
          if (d <= r + 0.5) this.blend(x + dx, y + dy, c, Math.min(1, r + 0.5 - d));
        }
      }
    }
  }

  /** Text with its top-left corner at (x, y); `align` anchors horizontally. Returns the width drawn. */
  text(x: number, y: number, text: string, c: Rgb = [30, 30, 30], align: 'left' | 'center' | 'right' = 'left'): number {
    const width = text.length * GLYPH_WIDTH;
    const left = align === 'left' ? x : align === 'center' ? x - width / 2 : x - width;
    const atlas = glyphAtlas();
    for (let n = 0; n < text.length; n++) {
      let code = text.charCodeAt(n);
      if (code < FIRST_CHAR || code > 126) code = '?'.charCodeAt(0);
      const base = (code - FIRST_CHAR) * GLYPH_WIDTH * GLYPH_HEIGHT;
      for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
        for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
          const a = atlas[base + gy * GLYPH_WIDTH + gx]!;
          if (a > 0) this.blend(left + n * GLYPH_WIDTH + gx, y + gy, c, a / 255);
        }
      }
    }
    return width;
  }

  toPng(): Uint8Array {
    return encodePng(this.width, this.height, this.pixels);
  }
}
