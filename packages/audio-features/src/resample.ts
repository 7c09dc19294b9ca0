import { FeatureOptionsError } from './errors.js';

export type ResamplingMethod = 'sinc_interp_hann' | 'sinc_interp_kaiser';

export interface ResampleOptions {
  lowpassFilterWidth: number;
  rolloff: number;
  method: ResamplingMethod;
  /** Kaiser window shape; torchaudio's default. */
  beta: number;
}

/** `torchaudio.functional.resample` defaults ('sinc_interp_hann' is called 'sinc_interpolation' in torchaudio < 2.0). */
export const RESAMPLE_DEFAULTS: Readonly<ResampleOptions> = Object.freeze({
  lowpassFilterWidth: 6,
  rolloff: 0.99,
  method: 'sinc_interp_hann',
  beta: 14.769656459379492,
});

interface Kernel {
  orig: number;
  next: number;
  width: number;
  taps: number;
  /** [next phases][taps] */
  weights: Float64Array;
}

const kernels = new Map<string, Kernel>();

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (power series; converges fast for the betas used here). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

function kernelFor(from: number, to: number, o: ResampleOptions): Kernel {
  const key = `${from}|${to}|${o.lowpassFilterWidth}|${o.rolloff}|${o.method}|${o.beta}`;
  const cached = kernels.get(key);
  if (cached) return cached;
  const g = gcd(from, to);
  const orig = from / g;
  const next = to / g;
  const lpw = o.lowpassFilterWidth;
  const base = Math.min(orig, next) * o.rolloff;
  const width = Math.ceil((lpw * orig) / base);
  const taps = 2 * width + orig;
  const weights = new Float64Array(next * taps);
  const scale = base / orig;
  const i0Beta = besselI0(o.beta);
  // torchaudio builds the kernel in the waveform's dtype (float32 for a Float32Array): Math.fround after each
  // tensor op reproduces its weights, whose rounding shows in near-silent, heavily filtered bands.
  const f = Math.fround;
  const fScale = f(scale);
  for (let k = 0; k < next; k++) {
    const phase = f(-k / next);
    for (let i = 0; i < taps; i++) {
      let t = f(f(phase + f((i - width) / orig)) * f(base));
      t = Math.min(lpw, Math.max(-lpw, t));
      const window =
        o.method === 'sinc_interp_hann'
          ? f(f(Math.cos(f(f(f(t * f(Math.PI)) / lpw) / 2))) ** 2)
          : f(besselI0(o.beta * Math.sqrt(1 - (t / lpw) ** 2)) / i0Beta);
      const tp = f(t * f(Math.PI));
      weights[k * taps + i] = f(f(tp === 0 ? 1 : f(f(Math.sin(tp)) / tp)) * f(window * fScale));
    }
  }
  const kernel = { orig, next, width, taps, weights };
  if (kernels.size > 16) kernels.clear();
  kernels.set(key, kernel);
  return kernel;
}

/**
 * Band-limited resampling matching `torchaudio.functional.resample` (windowed sinc, polyphase over the
 * reduced ratio from/gcd : to/gcd, output length ceil(n * to / from)). Rates must be positive integers.
 */
export function resample(x: Float32Array, from: number, to: number, options: Partial<ResampleOptions> = {}): Float32Array {
  const o = { ...RESAMPLE_DEFAULTS, ...options };
  for (const [name, rate] of [['from', from], ['to', to]] as const) {
    if (!Number.isInteger(rate) || rate <= 0) throw new FeatureOptionsError(`resample: ${name} rate must be a positive integer, got ${rate}`);
  }
  if (!(o.lowpassFilterWidth > 0)) throw new FeatureOptionsError(`resample: lowpassFilterWidth must be positive, got ${o.lowpassFilterWidth}`);
  if (!(o.rolloff > 0 && o.rolloff <= 1)) throw new FeatureOptionsError(`resample: rolloff must be in (0, 1], got ${o.rolloff}`);
  if (from === to) return Float32Array.from(x);
  const { orig, next, width, taps, weights } = kernelFor(from, to, o);
  const n = x.length;
  const outLength = Math.ceil((next * n) / orig);
  const out = new Float32Array(outLength);
  for (let idx = 0; idx < outLength; idx++) {
    const j = Math.floor(idx / next);
    const k = idx - j * next;
    // output block j reads the zero-padded input from j*orig - width on
    const m0 = j * orig - width;
    const lo = Math.max(0, -m0);
    const hi = Math.min(taps, n - m0);
    const w = k * taps;
    let acc = 0;
    for (let i = lo; i < hi; i++) acc += x[m0 + i]! * weights[w + i]!;
    out[idx] = acc;
  }
  return out;
}
