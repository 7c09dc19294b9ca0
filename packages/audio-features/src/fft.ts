/**
 * Float64 FFTs for the fbank: an iterative radix-2 complex FFT, a real FFT that packs N real samples into
 * an N/2-point complex FFT (power-of-two N), and Bluestein's chirp-z for other N (Kaldi's
 * round_to_power_of_two=false gives e.g. N=400), so every size costs O(N log N).
 */

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** In-place forward complex FFT of a power-of-two size (e^{-2 pi i k n / N} convention, no scaling). */
export class ComplexFft {
  readonly size: number;
  private readonly rev: Uint32Array;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;

  constructor(size: number) {
    if (!isPowerOfTwo(size)) throw new RangeError(`ComplexFft size must be a power of two, got ${size}`);
    this.size = size;
    this.rev = new Uint32Array(size);
    const bits = Math.log2(size);
    for (let i = 0; i < size; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >>> b) & 1) << (bits - 1 - b);
      this.rev[i] = r;
    }
    const half = size >>> 1;
    this.cos = new Float64Array(half);
    this.sin = new Float64Array(half);
    for (let k = 0; k < half; k++) {
      // twiddles straight from cos/sin of the exact angle (not by recurrence) to keep round-off at ~1 ulp
      this.cos[k] = Math.cos((2 * Math.PI * k) / size);
      this.sin[k] = -Math.sin((2 * Math.PI * k) / size);
    }
  }

  transform(re: Float64Array, im: Float64Array): void {
    const n = this.size;
    const rev = this.rev;
    for (let i = 0; i < n; i++) {
      const j = rev[i]!;
      if (j > i) {
        let t = re[i]!;
        re[i] = re[j]!;
        re[j] = t;
        t = im[i]!;
        im[i] = im[j]!;
        im[j] = t;
      }
    }
    const cos = this.cos;
    const sin = this.sin;
    for (let len = 2; len <= n; len <<= 1) {
      const halfLen = len >>> 1;
      const step = n / len;
      for (let start = 0; start < n; start += len) {
        for (let k = 0, t = 0; k < halfLen; k++, t += step) {
          const wr = cos[t]!;
          const wi = sin[t]!;
          const a = start + k;
          const b = a + halfLen;
          const br = re[b]!;
          const bi = im[b]!;
          const xr = br * wr - bi * wi;
          const xi = br * wi + bi * wr;
          const ar = re[a]!;
          const ai = im[a]!;
          re[b] = ar - xr;
          im[b] = ai - xi;
          re[a] = ar + xr;
          im[a] = ai + xi;
        }
      }
    }
  }
}

/** Forward FFT of a real signal of any length n >= 1: bins 0..floor(n/2), like numpy/torch `rfft`. */
export class RealFft {
  readonly size: number;
  readonly bins: number;
  private readonly impl: (x: ArrayLike<number>, re: Float64Array, im: Float64Array) => void;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`RealFft size must be a positive integer, got ${size}`);
    this.size = size;
    this.bins = Math.floor(size / 2) + 1;
    this.impl = size >= 4 && isPowerOfTwo(size) ? packedReal(size) : bluestein(size);
  }

  /** Spectrum of `x` (length `size`) into re/im (length `bins`). */
  forward(x: ArrayLike<number>, re: Float64Array, im: Float64Array): void {
    if (x.length !== this.size) throw new RangeError(`RealFft expects ${this.size} samples, got ${x.length}`);
    this.impl(x, re, im);
  }
}

function packedReal(n: number): (x: ArrayLike<number>, re: Float64Array, im: Float64Array) => void {
  const m = n >>> 1;
  const fft = new ComplexFft(m);
  const zr = new Float64Array(m);
  const zi = new Float64Array(m);
  const wr = new Float64Array(m + 1);
  const wi = new Float64Array(m + 1);
  for (let k = 0; k <= m; k++) {
    wr[k] = Math.cos((2 * Math.PI * k) / n);
    wi[k] = -Math.sin((2 * Math.PI * k) / n);
  }
  return (x, re, im) => {
    for (let j = 0; j < m; j++) {
      zr[j] = x[2 * j]!;
      zi[j] = x[2 * j + 1]!;
    }
    fft.transform(zr, zi);
    // Split Z = FFT(even + i*odd) into E (even samples) and O (odd samples): X[k] = E[k] + W^k O[k].
    for (let k = 0; k <= m; k++) {
      const a = zr[k % m]!;
      const b = zi[k % m]!;
      const c = zr[(m - k) % m]!;
      const d = zi[(m - k) % m]!;
      const er = 0.5 * (a + c);
      const ei = 0.5 * (b - d);
      const or = 0.5 * (b + d);
      const oi = -0.5 * (a - c);
      re[k] = er + wr[k]! * or - wi[k]! * oi;
      im[k] = ei + wr[k]! * oi + wi[k]! * or;
    }
  };
}

function bluestein(n: number): (x: ArrayLike<number>, re: Float64Array, im: Float64Array) => void {
  let size = 1;
  while (size < 2 * n - 1) size <<= 1;
  const fft = new ComplexFft(size);
  // chirp w[j] = exp(-i pi j^2 / n); j^2 mod 2n keeps the angle small so cos/sin stay exact to an ulp
  const cr = new Float64Array(n);
  const ci = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const angle = (Math.PI * ((j * j) % (2 * n))) / n;
    cr[j] = Math.cos(angle);
    ci[j] = -Math.sin(angle);
  }
  const br = new Float64Array(size);
  const bi = new Float64Array(size);
  for (let j = 0; j < n; j++) {
    br[j] = cr[j]!;
    bi[j] = -ci[j]!;
    if (j > 0) {
      br[size - j] = cr[j]!;
      bi[size - j] = -ci[j]!;
    }
  }
  fft.transform(br, bi);
  const ar = new Float64Array(size);
  const ai = new Float64Array(size);
  const bins = Math.floor(n / 2) + 1;
  return (x, re, im) => {
    ar.fill(0);
    ai.fill(0);
    for (let j = 0; j < n; j++) {
      ar[j] = x[j]! * cr[j]!;
      ai[j] = x[j]! * ci[j]!;
    }
    fft.transform(ar, ai);
    // pointwise product, conjugated so the forward FFT below acts as the inverse
    for (let j = 0; j < size; j++) {
      const r = ar[j]! * br[j]! - ai[j]! * bi[j]!;
      const i = ar[j]! * bi[j]! + ai[j]! * br[j]!;
      ar[j] = r;
      ai[j] = -i;
    }
    fft.transform(ar, ai);
    for (let k = 0; k < bins; k++) {
      const r = ar[k]! / size;
      const i = -ai[k]! / size;
      re[k] = r * cr[k]! - i * ci[k]!;
      im[k] = r * ci[k]! + i * cr[k]!;
    }
  };
}
