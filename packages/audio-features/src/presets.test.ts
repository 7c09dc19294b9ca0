import { describe, expect, it } from 'vitest';

import { measureFbank } from './bench.js';
import { AST_FBANK, BEATS_FBANK, FBANK_PRESETS, normalizeFbank, presetFbank } from './presets.js';
import { Rng } from './rng.js';

describe('normalisation presets', () => {
  it('hold the published statistics as data', () => {
    expect(BEATS_FBANK).toEqual({ mean: 15.41663, std: 6.55582 });
    expect(AST_FBANK).toEqual({ mean: -4.2677393, std: 4.5689974 });
    expect(FBANK_PRESETS.beats.normalization).toBe(BEATS_FBANK);
    expect(FBANK_PRESETS.ast.normalization).toBe(AST_FBANK);
    expect(Object.isFrozen(FBANK_PRESETS.beats.options)).toBe(true);
  });

  it('normalise as (f - mean) / (2 * std)', () => {
    const out = normalizeFbank({ data: Float32Array.from([15.41663, 15.41663 + 2 * 6.55582]), frames: 1, bins: 2 }, BEATS_FBANK);
    expect(out.data[0]).toBeCloseTo(0, 6);
    expect(out.data[1]).toBeCloseTo(1, 6);
  });

  it('AST works on unscaled audio with a Hanning window; raw skips the normalisation', () => {
    const rng = new Rng(2);
    const wave = Float32Array.from({ length: 8000 }, () => 0.1 * rng.normal());
    const raw = presetFbank(wave, 'ast', { raw: true });
    const norm = presetFbank(wave, 'ast');
    expect(raw.frames).toBe(48);
    expect(norm.data[5]).toBeCloseTo((raw.data[5]! - AST_FBANK.mean) / (2 * AST_FBANK.std), 5);
    // BEATs' 2^15 scaling shifts every log-mel value by log(2^30) relative to the same window unscaled
    const beatsRaw = presetFbank(wave, 'beats', { raw: true });
    const unscaled = presetFbank(wave, { options: { ...FBANK_PRESETS.beats.options, waveformScale: 1 }, normalization: BEATS_FBANK }, { raw: true });
    expect(beatsRaw.data[100]! - unscaled.data[100]!).toBeCloseTo(30 * Math.LN2, 3);
  });
});

describe('measureFbank', () => {
  it('reports frames per clip and positive timings (numbers for anopatch-bench; no speed assertion here)', () => {
    const r = measureFbank({ seconds: 1, clips: 3, repeats: 1 });
    expect(r.framesPerClip).toBe(98);
    expect(r.clips).toBe(3);
    expect(r.singleClipMs).toBeGreaterThan(0);
    expect(r.clipsPerSecond).toBeGreaterThan(0);
  });
});
