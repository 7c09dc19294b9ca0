import { readFileSync } from 'node:fs';

import { loadReferenceNpy, maxAbsDiff, referencePath } from '@anopatch/test-fixtures';
import { describe, expect, it } from 'vitest';

import { loadAudio16kSync } from './audio.js';
import { ClipTooShortError, FeatureOptionsError, NonFiniteAudioError } from './errors.js';
import { fbankFrameCount, featureWindow, kaldiFbank, melBanks } from './fbank.js';
import { BEATS_FBANK, FBANK_PRESETS, normalizeFbank, presetFbank } from './presets.js';
import { decodeWav } from './wav.js';

function clipWave(clip: string): Float32Array {
  // clip_c's reference fbank was computed from torchaudio's resampled waveform; the wav path is tested below
  if (clip === 'clip_c') return loadReferenceNpy('clip_c_16k.npy').data as Float32Array;
  return decodeWav(readFileSync(referencePath(`${clip}.wav`))).channels[0]!;
}

/** One frame of kaldi fbank written the slow, obvious way (direct DFT), to check option paths the fixtures do not cover. */
function naiveFrame(samples: number[], nfft: number, numMel: number): Float64Array {
  const x = samples.slice();
  const mean = x.reduce((a, b) => a + b, 0) / x.length;
  for (let j = 0; j < x.length; j++) x[j]! -= mean;
  for (let j = x.length - 1; j > 0; j--) x[j]! -= 0.97 * x[j - 1]!;
  x[0]! -= 0.97 * x[0]!;
  const w = featureWindow('povey', x.length);
  const power = new Float64Array(nfft / 2 + 1);
  for (let k = 0; k <= nfft / 2; k++) {
    let re = 0;
    let im = 0;
    for (let j = 0; j < x.length; j++) {
      re += x[j]! * w[j]! * Math.cos((2 * Math.PI * k * j) / nfft);
      im -= x[j]! * w[j]! * Math.sin((2 * Math.PI * k * j) / nfft);
    }
    power[k] = re * re + im * im;
  }
  return Float64Array.from(melBanks(numMel, nfft, 16000, 20, 0), (row) => Math.log(Math.max(row.reduce((s, v, k) => s + v * power[k]!, 0), 1.1920928955078125e-7)));
}

describe('kaldiFbank parity with torchaudio.compliance.kaldi.fbank (BEATs options)', () => {
  it('builds the povey window and the mel filterbank the fixtures hold', () => {
    const window = loadReferenceNpy('fbank_window.npy');
    // fixture window is float32; ours is float64, so the diff is float32 rounding
    expect(maxAbsDiff(featureWindow('povey', 400), window.data as Float32Array)).toBeLessThanOrEqual(3e-7);
    const ref = loadReferenceNpy('fbank_mel_banks.npy');
    expect(ref.shape).toEqual([128, 257]);
    const banks = melBanks(128, 512, 16000, 20, 0);
    const flat = new Float64Array(128 * 257);
    banks.forEach((row, i) => flat.set(row, i * 257));
    // same float32 arithmetic as torchaudio; where Math.log and libm's logf differ by an ulp the slope
    // division amplifies it (6 of 32896 weights differ by more than 1e-7, the worst by 1.1e-5)
    expect(maxAbsDiff(flat, ref.data as Float32Array)).toBeLessThanOrEqual(2e-5);
  });

  for (const clip of ['clip_a', 'clip_b', 'clip_c']) {
    it(`${clip}: raw fbank within 1e-3 of the float32 reference and 1e-4 of the float64 one; normalised within 2e-4`, () => {
      const wave = clipWave(clip);
      const raw = presetFbank(wave, 'beats', { raw: true });
      const ref = loadReferenceNpy(`${clip}.fbank_raw.npy`);
      expect([raw.frames, raw.bins]).toEqual(ref.shape);
      expect(raw.frames).toBe(fbankFrameCount(wave.length));
      // measured 2.2e-4 / 8.0e-4 / 9.5e-5: torchaudio's own float32 FFT noise (the fixture README's float32-vs-float64 column)
      expect(maxAbsDiff(raw.data, ref.data as Float32Array)).toBeLessThanOrEqual(1e-3);
      // measured <= 2e-5 against the float64 run
      expect(maxAbsDiff(raw.data, loadReferenceNpy(`${clip}.fbank_raw_f64.npy`).data as Float64Array)).toBeLessThanOrEqual(1e-4);
      const norm = presetFbank(wave, 'beats');
      expect(maxAbsDiff(norm.data, loadReferenceNpy(`${clip}.fbank.npy`).data as Float32Array)).toBeLessThanOrEqual(2e-4);
    });
  }

  it('clip_c from the 44.1 kHz stereo wav (our resample + downmix): raw within 1e-3, normalised within 2e-4', () => {
    const wave = loadAudio16kSync(referencePath('clip_c_44k.wav'));
    // measured: raw 2.2e-4, normalised 1.7e-5 (the rest is float32 conv round-off in torchaudio's resample)
    expect(maxAbsDiff(presetFbank(wave, 'beats', { raw: true }).data, loadReferenceNpy('clip_c.fbank_raw.npy').data as Float32Array)).toBeLessThanOrEqual(1e-3);
    expect(maxAbsDiff(presetFbank(wave, 'beats').data, loadReferenceNpy('clip_c.fbank.npy').data as Float32Array)).toBeLessThanOrEqual(2e-4);
  });

  it('BEATs scaling is an explicit preset option, not a constant', () => {
    const wave = clipWave('clip_a');
    expect(FBANK_PRESETS.beats.options.waveformScale).toBe(32768);
    const scaled = Float32Array.from(wave, (x) => x * 32768);
    expect(maxAbsDiff(kaldiFbank(scaled).data, kaldiFbank(wave, { waveformScale: 32768 }).data)).toBeLessThanOrEqual(1e-5);
    const normalised = normalizeFbank(kaldiFbank(wave, { waveformScale: 32768 }), BEATS_FBANK);
    expect(maxAbsDiff(normalised.data, presetFbank(wave, 'beats').data)).toBe(0);
  });
});

describe('kaldiFbank options', () => {
  const wave = clipWave('clip_a').subarray(0, 4000);

  it('snip_edges=false reflects the edges and gives round(n / shift) frames', () => {
    const f = kaldiFbank(wave, { snipEdges: false });
    expect(f.frames).toBe(Math.floor((4000 + 80) / 160));
    expect(f.frames).toBe(fbankFrameCount(4000, { snipEdges: false }));
    // frame 0 = x[119..0] (reflected) followed by x[0..279]
    const frame0 = [...Array.from(wave.subarray(0, 120)).reverse(), ...wave.subarray(0, 280)];
    expect(maxAbsDiff(f.data.subarray(0, 128), naiveFrame(frame0, 512, 128))).toBeLessThanOrEqual(1e-4);
    // frame 10 starts at 10*160 - 120 in the original
    expect(maxAbsDiff(f.data.subarray(10 * 128, 11 * 128), naiveFrame(Array.from(wave.subarray(1480, 1880)), 512, 128))).toBeLessThanOrEqual(1e-4);
  });

  it('use_energy puts log energy first, or last with htk_compat', () => {
    const plain = kaldiFbank(wave);
    const first = kaldiFbank(wave, { useEnergy: true });
    const last = kaldiFbank(wave, { useEnergy: true, htkCompat: true });
    expect(first.bins).toBe(129);
    for (let t = 0; t < plain.frames; t++) {
      expect(maxAbsDiff(first.data.subarray(t * 129 + 1, t * 129 + 129), plain.data.subarray(t * 128, t * 128 + 128))).toBe(0);
      expect(first.data[t * 129]).toBe(last.data[t * 129 + 128]);
    }
    // raw energy of frame 0 = log(sum((x - mean(x))^2)) on the int16-scale frame
    const frame0 = Array.from(wave.subarray(0, 400), (x) => x);
    const mean = frame0.reduce((s, x) => s + x, 0) / 400;
    const e = Math.log(frame0.reduce((s, x) => s + (x - mean) ** 2, 0));
    expect(first.data[0]).toBeCloseTo(Math.max(e, 0), 4);
  });

  it('subtract_mean centres every bin over time', () => {
    const f = kaldiFbank(wave, { subtractMean: true });
    for (const b of [0, 50, 127]) {
      let s = 0;
      for (let t = 0; t < f.frames; t++) s += f.data[t * 128 + b]!;
      expect(Math.abs(s / f.frames)).toBeLessThan(1e-4);
    }
  });

  it('round_to_power_of_two=false uses a 400-point FFT (Bluestein) and 201-bin filters', () => {
    const f = kaldiFbank(wave, { roundToPowerOfTwo: false, numMelBins: 40 });
    expect(f.bins).toBe(40);
    for (const t of [0, 7, f.frames - 1]) {
      expect(maxAbsDiff(f.data.subarray(t * 40, t * 40 + 40), naiveFrame(Array.from(wave.subarray(t * 160, t * 160 + 400)), 400, 40))).toBeLessThanOrEqual(1e-4);
    }
  });

  it('dither is seeded: same rng seed, same output', async () => {
    const { Rng } = await import('./rng.js');
    const a = kaldiFbank(wave, { dither: 1, rng: new Rng(3) });
    const b = kaldiFbank(wave, { dither: 1, rng: new Rng(3) });
    const c = kaldiFbank(wave, { dither: 1, rng: new Rng(4) });
    expect(maxAbsDiff(a.data, b.data)).toBe(0);
    expect(maxAbsDiff(a.data, c.data)).toBeGreaterThan(0);
  });

  it('VTLN warp 1 is the identity and other warps move the filters', () => {
    const warped = kaldiFbank(wave, { vtlnWarp: 1.1 });
    expect(warped.data.every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(warped.data, kaldiFbank(wave).data)).toBeGreaterThan(0.01);
  });

  it('rejects clips shorter than one frame, non-finite samples and impossible options with typed errors', () => {
    expect(() => kaldiFbank(new Float32Array(399), { source: 'short.wav' })).toThrow(ClipTooShortError);
    expect(() => kaldiFbank(new Float32Array(399), { source: 'short.wav' })).toThrow(/short\.wav/);
    expect(() => kaldiFbank(new Float32Array(0))).toThrow(ClipTooShortError);
    const bad = new Float32Array(800);
    bad[500] = Number.NaN;
    expect(() => kaldiFbank(bad, { source: 'nan.wav' })).toThrow(NonFiniteAudioError);
    expect(() => kaldiFbank(wave, { lowFreq: 9000 })).toThrow(FeatureOptionsError);
    expect(() => kaldiFbank(wave, { numMelBins: 3 })).toThrow(FeatureOptionsError);
  });

  it('a clip of exactly one frame gives one finite frame, and silence gives the log floor, never NaN', () => {
    const one = kaldiFbank(wave.subarray(0, 400));
    expect(one.frames).toBe(1);
    const silent = kaldiFbank(new Float32Array(1600));
    expect(silent.data.every((x) => x === Math.fround(Math.log(1.1920928955078125e-7)))).toBe(true);
  });
});
