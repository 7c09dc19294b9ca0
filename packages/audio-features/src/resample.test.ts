import { readFileSync } from 'node:fs';

import { loadReferenceNpy, maxAbsDiff, referencePath } from '@anopatch/test-fixtures';
import { describe, expect, it } from 'vitest';

import { toMono } from './audio.js';
import { FeatureOptionsError } from './errors.js';
import { resample } from './resample.js';
import { decodeWav } from './wav.js';

describe('resample', () => {
  it('matches torchaudio.functional.resample 44.1 kHz -> 16 kHz on the stereo reference clip (max abs diff <= 1e-6)', () => {
    const audio = decodeWav(readFileSync(referencePath('clip_c_44k.wav')));
    const ref = loadReferenceNpy('clip_c_16k.npy').data as Float32Array;
    // the fixture resamples each channel, then averages; both orders must agree with it (measured 8.9e-8)
    const meanFirst = resample(toMono(audio), 44100, 16000);
    const perChannel = toMono(audio.channels.map((c) => resample(c, 44100, 16000)));
    expect(meanFirst.length).toBe(24000);
    expect(maxAbsDiff(meanFirst, ref)).toBeLessThanOrEqual(1e-6);
    expect(maxAbsDiff(perChannel, ref)).toBeLessThanOrEqual(1e-6);
  });

  it('gives ceil(n * to / from) samples and returns a copy at equal rates', () => {
    const x = Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i / 7));
    expect(resample(x, 48000, 16000).length).toBe(Math.ceil(1001 / 3));
    expect(resample(x, 8000, 16000).length).toBe(2002);
    expect(resample(x, 22050, 16000).length).toBe(Math.ceil((1001 * 320) / 441));
    const same = resample(x, 16000, 16000);
    expect(same).not.toBe(x);
    expect(Array.from(same)).toEqual(Array.from(x));
  });

  it('keeps an in-band tone and removes one above the new Nyquist', () => {
    const n = 48000;
    const tone = (f: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * f * i) / 48000));
    const rms = (y: Float32Array): number => Math.sqrt(y.subarray(200, y.length - 200).reduce((s, v) => s + v * v, 0) / (y.length - 400));
    const kept = resample(tone(1000), 48000, 16000);
    const expected = Float32Array.from({ length: kept.length }, (_, i) => Math.sin((2 * Math.PI * 1000 * i) / 16000));
    expect(maxAbsDiff(kept.subarray(200, -200), expected.subarray(200, -200))).toBeLessThan(2e-3);
    // Hann-windowed sinc of width 6 gives roughly 55 dB of stopband attenuation (measured rms 1.25e-3)
    expect(rms(resample(tone(12000), 48000, 16000))).toBeLessThan(2e-3);
  });

  it('supports the Kaiser window variant', () => {
    const x = Float32Array.from({ length: 4410 }, (_, i) => Math.sin((2 * Math.PI * 440 * i) / 44100));
    const y = resample(x, 44100, 16000, { method: 'sinc_interp_kaiser' });
    const expected = Float32Array.from({ length: y.length }, (_, i) => Math.sin((2 * Math.PI * 440 * i) / 16000));
    expect(maxAbsDiff(y.subarray(100, -100), expected.subarray(100, -100))).toBeLessThan(2e-3);
  });

  it('rejects non-integer rates and bad filter options', () => {
    expect(() => resample(new Float32Array(10), 44100.5, 16000)).toThrow(FeatureOptionsError);
    expect(() => resample(new Float32Array(10), 0, 16000)).toThrow(FeatureOptionsError);
    expect(() => resample(new Float32Array(10), 8000, 16000, { rolloff: 0 })).toThrow(FeatureOptionsError);
  });
});
