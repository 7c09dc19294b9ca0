import { readFileSync } from 'node:fs';

import { maxAbsDiff, referencePath } from '@anopatch/test-fixtures';
import { describe, expect, it } from 'vitest';

import { kaldiFbank, type KaldiFbankOptions } from './fbank.js';
import { resample, type ResampleOptions } from './resample.js';
import { decodeWav } from './wav.js';

/** Made by tooling/reference/audio/make_reference.py with torchaudio 0.13.1 (see that script). */
interface OptionsReference {
  fbank: Record<string, { scale: number; kwargs: Record<string, number | string | boolean>; shape: [number, number]; data: number[] }>;
  resample_input: number[];
  resample: Record<string, { orig: number; new: number; kwargs: Record<string, number | string>; data: number[] }>;
}

const ref = JSON.parse(readFileSync(new URL('../../../tooling/reference/audio/options_reference.json', import.meta.url), 'utf8')) as OptionsReference;

const camel = (s: string): string => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

function fbankOptions(scale: number, kwargs: Record<string, number | string | boolean>): Partial<KaldiFbankOptions> {
  // torchaudio's own default for num_mel_bins is 23; ours is 128
  const o: Record<string, unknown> = { waveformScale: scale, numMelBins: 23 };
  for (const [k, v] of Object.entries(kwargs)) o[camel(k)] = v;
  return o;
}

describe('kaldiFbank option paths against torchaudio 0.13.1 (float64 reference)', () => {
  const wave = decodeWav(readFileSync(referencePath('clip_a.wav'))).channels[0]!.subarray(0, 4000);
  for (const [name, c] of Object.entries(ref.fbank)) {
    it(`${name} ${JSON.stringify(c.kwargs)}: same shape, max abs diff <= 5e-5 (measured <= 1.5e-5; linear outputs: relative 1e-6)`, () => {
      const got = kaldiFbank(wave, fbankOptions(c.scale, c.kwargs));
      expect([got.frames, got.bins]).toEqual(c.shape);
      if (c.kwargs.use_log_fbank === false) {
        const max = Math.max(...c.data.map(Math.abs));
        expect(maxAbsDiff(got.data, c.data) / max).toBeLessThanOrEqual(1e-6);
      } else {
        expect(maxAbsDiff(got.data, c.data)).toBeLessThanOrEqual(5e-5);
      }
    });
  }
});

describe('resample against torchaudio 0.13.1 for other ratios and options', () => {
  const x = Float32Array.from(ref.resample_input);
  for (const [name, c] of Object.entries(ref.resample)) {
    it(`${name}: max abs diff <= 1e-6 (measured <= 2.4e-7)`, () => {
      const o: Partial<ResampleOptions> = {};
      if (c.kwargs.lowpass_filter_width !== undefined) o.lowpassFilterWidth = Number(c.kwargs.lowpass_filter_width);
      if (c.kwargs.rolloff !== undefined) o.rolloff = Number(c.kwargs.rolloff);
      if (c.kwargs.resampling_method === 'kaiser_window') o.method = 'sinc_interp_kaiser';
      const y = resample(x, c.orig, c.new, o);
      expect(y.length).toBe(c.data.length);
      expect(maxAbsDiff(y, c.data)).toBeLessThanOrEqual(1e-6);
    });
  }
});
