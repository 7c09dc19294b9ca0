import { Rng } from '@anopatch/audio-features';

import { Biquad, hashSeed, mixInto, rms } from './dsp.js';

/** The sound models; every machine type is drawn by one of them (DCASE names map onto them in TYPE_FAMILY). */
export type SoundFamily = 'rotating' | 'pump' | 'slider' | 'valve' | 'motor';

export const SOUND_FAMILIES: readonly SoundFamily[] = ['rotating', 'pump', 'slider', 'valve', 'motor'];

/** DCASE 2020 and 2023 machine types and the sound model that draws each. */
export const TYPE_FAMILY: Readonly<Record<string, SoundFamily>> = {
  fan: 'rotating',
  bearing: 'rotating',
  ToyDrone: 'rotating',
  Vacuum: 'rotating',
  grinder: 'rotating',
  pump: 'pump',
  ToyTank: 'pump',
  slider: 'slider',
  ToyTrain: 'slider',
  ToyNscale: 'slider',
  shaker: 'slider',
  valve: 'valve',
  ToyCar: 'motor',
  ToyConveyor: 'motor',
  gearbox: 'motor',
  bandsaw: 'motor',
};

/** A machine type not in TYPE_FAMILY still gets a stable sound model, chosen by its name. */
export function familyOf(machineType: string): SoundFamily {
  return TYPE_FAMILY[machineType] ?? SOUND_FAMILIES[hashSeed(0, machineType) % SOUND_FAMILIES.length]!;
}

export type AnomalyKind = 'bearing-tone' | 'imbalance-wobble' | 'rattle' | 'clipped-burst';

export const ANOMALY_KINDS: readonly AnomalyKind[] = ['bearing-tone', 'imbalance-wobble', 'rattle', 'clipped-burst'];

export interface Anomaly {
  kind: AnomalyKind;
  /** 0 (inaudible) .. 1 (obvious); generated anomalies are spread over [0.05, 1], most of them subtle, so detection is graded. */
  severity: number;
}

/** One physical machine (a 2020 machine ID or a 2023 section): the parameters its sound model draws with. */
export interface MachineVoice {
  family: SoundFamily;
  /** Fundamental / rotation (Hz), or for slider and valve the cycle rate (Hz). */
  f0: number;
  harmonics: number[];
  phases: number[];
  /** Relative f0 jitter (random walk depth). */
  jitter: number;
  noiseCutoff: number;
  noiseLevel: number;
  resonance: number;
  /** Bearing defect tone (Hz) this machine would develop. */
  bearingFreq: number;
  /** Target RMS of a clip. */
  level: number;
}

/** Operating condition: what a domain shift or an attribute changes. 1 = nominal. */
export interface Condition {
  speed: number;
  load: number;
  background: number;
}

export const NOMINAL: Condition = { speed: 1, load: 1, background: 1 };

/** Draw a machine's voice from (seed, type, machine key): different IDs of a type share the model but not the numbers. */
export function machineVoice(seed: number, machineType: string, machineKey: string): MachineVoice {
  const family = familyOf(machineType);
  const rng = new Rng(hashSeed(seed, `voice/${machineType}/${machineKey}`));
  const f0Range: Record<SoundFamily, [number, number]> = {
    rotating: [45, 140],
    pump: [48, 95],
    slider: [0.6, 1.6],
    valve: [1.2, 3.2],
    motor: [140, 420],
  };
  const [lo, hi] = f0Range[family];
  const nh = 8;
  const harmonics: number[] = [];
  const phases: number[] = [];
  const tilt = rng.uniform(0.5, 1.1);
  for (let h = 1; h <= nh; h++) {
    harmonics.push(rng.uniform(0.3, 1) / h ** tilt);
    phases.push(rng.uniform(0, 2 * Math.PI));
  }
  return {
    family,
    f0: rng.uniform(lo, hi),
    harmonics,
    phases,
    jitter: rng.uniform(0.004, 0.02),
    noiseCutoff: rng.uniform(600, 3500),
    noiseLevel: rng.uniform(0.2, 0.6),
    resonance: rng.uniform(900, 3200),
    bearingFreq: rng.uniform(2200, 5500),
    level: rng.uniform(0.04, 0.12),
  };
}

/** Slowly varying noise in about [-1, 1]: white noise through a very low one-pole lowpass, renormalised. */
class SlowNoise {
  private y = 0;
  private readonly a: number;
  private readonly gain: number;

  constructor(
    private readonly rng: Rng,
    sampleRate: number,
    bandwidthHz: number,
  ) {
    this.a = Math.exp((-2 * Math.PI * bandwidthHz) / sampleRate);
    // the stationary std of the filtered process is sqrt((1-a)/(1+a)) * std(input); undo it
    this.gain = Math.sqrt((1 + this.a) / (1 - this.a)) / Math.sqrt(3);
  }

  next(): number {
    this.y = this.a * this.y + (1 - this.a) * (this.rng.next() * 2 - 1);
    return this.y * this.gain;
  }
}

function white(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.next() * 2 - 1;
  return x;
}

function filtered(x: Float32Array, f: Biquad): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = f.step(x[i]!);
  return y;
}

/** Harmonic stack on a jittered fundamental; returns the signal and the instantaneous phase (for AM / sidebands). */
function harmonicStack(v: MachineVoice, f0: number, n: number, sr: number, rng: Rng, harmonicGain: (h: number) => number): Float32Array {
  const out = new Float32Array(n);
  const walk = new SlowNoise(rng, sr, 3);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const f = f0 * (1 + v.jitter * walk.next());
    phase += (2 * Math.PI * f) / sr;
    let s = 0;
    for (let h = 1; h <= v.harmonics.length; h++) {
      if (h * f >= sr / 2) break;
      s += harmonicGain(h) * v.harmonics[h - 1]! * Math.sin(h * phase + v.phases[h - 1]!);
    }
    out[i] = s;
  }
  return out;
}

/** A decaying resonant ping (clicks, end stops, ticks) added at sample `at`. */
function ping(out: Float32Array, at: number, freq: number, tauSec: number, amp: number, sr: number): void {
  const len = Math.min(out.length - at, Math.ceil(tauSec * sr * 6));
  const w = (2 * Math.PI * freq) / sr;
  for (let j = 0; j < len; j++) out[at + j]! += amp * Math.exp(-j / (tauSec * sr)) * Math.sin(w * j);
}

function renderRotating(v: MachineVoice, c: Condition, n: number, sr: number, rng: Rng): Float32Array {
  const f0 = v.f0 * c.speed;
  const out = harmonicStack(v, f0, n, sr, rng, (h) => (h === 1 ? 1 : c.load));
  // blade-pass amplitude modulation and airflow noise that grows with speed
  const air = filtered(white(rng, n), Biquad.lowpass(sr, v.noiseCutoff * c.speed));
  const airRms = rms(air) || 1;
  const stackRms = rms(out) || 1;
  for (let i = 0; i < n; i++) {
    const am = 1 + 0.15 * Math.sin((2 * Math.PI * f0 * i) / (4 * sr));
    out[i] = (am * out[i]!) / stackRms + (v.noiseLevel * c.speed * air[i]!) / airRms;
  }
  return out;
}

function renderPump(v: MachineVoice, c: Condition, n: number, sr: number, rng: Rng): Float32Array {
  const out = harmonicStack(v, v.f0 * c.speed, n, sr, rng, (h) => (h <= 3 ? 1 : 0.3));
  const stackRms = rms(out) || 1;
  const cav = filtered(white(rng, n), Biquad.bandpass(sr, v.resonance, 1.2));
  const cavRms = rms(cav) || 1;
  const env = new SlowNoise(rng, sr, 6);
  const flow = filtered(white(rng, n), Biquad.lowpass(sr, v.noiseCutoff));
  const flowRms = rms(flow) || 1;
  for (let i = 0; i < n; i++) {
    const e = Math.max(0, env.next() + 0.2);
    out[i] = out[i]! / stackRms + (0.8 * c.load * e * e * cav[i]!) / cavRms + (v.noiseLevel * flow[i]!) / flowRms;
  }
  return out;
}

function renderSlider(v: MachineVoice, c: Condition, n: number, sr: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  const src = white(rng, n);
  const rate = v.f0 * c.speed;
  const block = 64;
  let f: Biquad = Biquad.bandpass(sr, v.resonance, 3);
  let lastHalf = -1;
  for (let i = 0; i < n; i++) {
    const cycle = (i / sr) * rate;
    const pos = 1 - Math.abs(2 * (cycle - Math.floor(cycle)) - 1); // triangle 0..1..0
    if (i % block === 0) f = Biquad.bandpass(sr, v.resonance * (0.6 + 0.8 * pos), 4);
    const motion = 0.3 + 0.7 * Math.sin(Math.PI * pos);
    out[i]! += motion * c.load * f.step(src[i]!) * 4;
    const half = Math.floor(cycle * 2);
    if (half !== lastHalf) {
      if (lastHalf >= 0) ping(out, i, v.resonance * 0.5, 0.006, 0.6, sr);
      lastHalf = half;
    }
  }
  const hum = harmonicStack(v, 50 + 20 * v.f0, n, sr, rng, () => 0.4);
  mixInto(out, hum, (0.3 * rms(out)) / (rms(hum) || 1));
  return out;
}

function renderValve(v: MachineVoice, c: Condition, n: number, sr: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  const interval = 1 / (v.f0 * c.speed);
  const hiss = filtered(white(rng, n), Biquad.bandpass(sr, v.resonance * 1.5, 2));
  const hissRms = rms(hiss) || 1;
  let t = rng.uniform(0, interval);
  let open = false;
  let openedAt = 0;
  while (t * sr < n) {
    const at = Math.floor(t * sr);
    // open and close clicks ring at slightly different frequencies, like a real solenoid
    ping(out, at, open ? v.resonance : v.resonance * 1.3, 0.004 + 0.004 * c.load, 1, sr);
    ping(out, at, 180, 0.01, 0.5 * c.load, sr);
    if (open) for (let j = openedAt; j < at; j++) out[j]! += (0.08 * c.load * hiss[j]!) / hissRms;
    open = !open;
    openedAt = at;
    t += interval * (open ? 0.4 : 0.6) * (1 + 0.03 * (rng.next() * 2 - 1));
  }
  return out;
}

function renderMotor(v: MachineVoice, c: Condition, n: number, sr: number, rng: Rng): Float32Array {
  const f0 = v.f0 * c.speed;
  const out = harmonicStack(v, f0, n, sr, rng, (h) => (h === 2 ? 1.5 : 1));
  const stackRms = rms(out) || 1;
  const teeth = 7 + Math.floor(v.resonance / 400);
  const meshF = (f0 * teeth) / 4;
  const noise = filtered(white(rng, n), Biquad.lowpass(sr, v.noiseCutoff));
  const noiseRms = rms(noise) || 1;
  for (let i = 0; i < n; i++) {
    const t = i / sr;
    const mesh = Math.sin(2 * Math.PI * meshF * t) * (1 + 0.4 * Math.sin((2 * Math.PI * f0 * t) / teeth));
    out[i] = out[i]! / stackRms + 0.5 * c.load * mesh + (v.noiseLevel * noise[i]!) / noiseRms;
  }
  const tickEvery = Math.floor(sr / (2 + v.f0 / 60));
  for (let at = tickEvery; at < n; at += tickEvery) ping(out, at, v.resonance, 0.003, 0.8, sr);
  return out;
}

function applyAnomaly(x: Float32Array, v: MachineVoice, c: Condition, a: Anomaly, sr: number, rng: Rng): void {
  const n = x.length;
  const base = rms(x) || 1;
  const s = a.severity;
  switch (a.kind) {
    case 'bearing-tone': {
      const fb = Math.min(v.bearingFreq * c.speed, sr * 0.45);
      const fm = v.family === 'slider' || v.family === 'valve' ? 6 : Math.min(v.f0 * c.speed, 40);
      for (let i = 0; i < n; i++) {
        const t = i / sr;
        x[i]! += 0.3 * s * base * Math.sin(2 * Math.PI * fb * t) * (1 + 0.6 * Math.sin(2 * Math.PI * fm * t));
      }
      break;
    }
    case 'imbalance-wobble': {
      const fw = rng.uniform(1.5, 5) * c.speed;
      const fsub = v.family === 'slider' || v.family === 'valve' ? 70 : (v.f0 * c.speed) / 2;
      for (let i = 0; i < n; i++) {
        const t = i / sr;
        x[i] = x[i]! * (1 + 0.6 * s * Math.sin(2 * Math.PI * fw * t)) + 0.3 * s * base * Math.sin(2 * Math.PI * fsub * t);
      }
      break;
    }
    case 'rattle': {
      const rate = rng.uniform(4, 14);
      const freq = rng.uniform(700, 3000);
      let t = rng.uniform(0, 1 / rate);
      while (t * sr < n) {
        ping(x, Math.floor(t * sr), freq * rng.uniform(0.9, 1.1), rng.uniform(0.002, 0.006), 2 * s * base * rng.uniform(0.5, 1), sr);
        t += (-Math.log(1 - rng.next()) / rate);
      }
      break;
    }
    case 'clipped-burst': {
      let peak = 0;
      for (let i = 0; i < n; i++) peak = Math.max(peak, Math.abs(x[i]!));
      const bursts = 1 + rng.int(3);
      for (let b = 0; b < bursts; b++) {
        const len = Math.floor(rng.uniform(0.08, 0.35) * sr);
        const start = rng.int(Math.max(1, n - len));
        const gain = 1 + 3 * s;
        const limit = peak * (1 - 0.5 * s);
        for (let i = start; i < Math.min(n, start + len); i++) x[i] = Math.max(-limit, Math.min(limit, x[i]! * gain));
      }
      break;
    }
  }
}

export interface RenderOptions {
  voice: MachineVoice;
  condition: Condition;
  anomaly?: Anomaly;
  seconds: number;
  sampleRate?: number;
  /** The clip's own seed (see hashSeed): the same seed gives the same samples. */
  seed: number;
}

/**
 * Render one clip: the machine's sound model under an operating condition, background noise of the
 * condition's level, an optional anomaly, then the machine's level (with ±10% clip-to-clip variation,
 * so loudness alone does not tell anomalies apart).
 */
export function renderClip(options: RenderOptions): Float32Array {
  const { voice, condition, anomaly, seconds, seed } = options;
  const sr = options.sampleRate ?? 16000;
  const n = Math.round(seconds * sr);
  const rng = new Rng(seed);
  const renderers: Record<SoundFamily, typeof renderRotating> = {
    rotating: renderRotating,
    pump: renderPump,
    slider: renderSlider,
    valve: renderValve,
    motor: renderMotor,
  };
  const x = renderers[voice.family](voice, condition, n, sr, rng);
  if (anomaly) applyAnomaly(x, voice, condition, anomaly, sr, rng);
  // factory background: brown-ish rumble plus hiss, scaled relative to the machine
  const bg = filtered(white(rng, n), Biquad.lowpass(sr, 400));
  const hiss = white(rng, n);
  const machine = rms(x) || 1;
  // factory events that normal clips have too: knocks from elsewhere and a distant machine's tone,
  // so that a quiet rattle or a faint bearing tone is not trivially novel
  const events = Math.floor(-Math.log(1 - rng.next()) * seconds * 0.8 * condition.background);
  for (let e = 0; e < events; e++) {
    ping(x, rng.int(n), rng.uniform(300, 4000), rng.uniform(0.002, 0.01), rng.uniform(0.3, 1.2) * machine, sr);
  }
  if (rng.next() < 0.2) {
    const f = rng.uniform(500, 5000);
    const a = rng.uniform(0.02, 0.08) * machine;
    for (let i = 0; i < n; i++) x[i]! += a * Math.sin((2 * Math.PI * f * i) / sr);
  }
  mixInto(x, bg, (0.25 * condition.background * machine) / (rms(bg) || 1));
  mixInto(x, hiss, (0.03 * condition.background * machine) / (rms(hiss) || 1));
  const target = voice.level * Math.exp(0.1 * rng.normal());
  const g = target / (rms(x) || 1);
  for (let i = 0; i < n; i++) x[i] = Math.max(-1, Math.min(1 - 1 / 32768, x[i]! * g));
  return x;
}
