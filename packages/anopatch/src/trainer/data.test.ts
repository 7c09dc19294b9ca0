import { Rng } from '@anopatch/audio-features';
import { describe, expect, it } from 'vitest';

import { TrainDataError } from '../errors.js';
import { EpochSampler, arrayClipSource, cropOrPad, cropSamplesFor, makeBatch } from './data.js';

const ramp = (frames: number, bins = 2) => ({ data: Float32Array.from({ length: frames * bins }, (_, i) => Math.floor(i / bins) + 1), frames, bins });
const framesOf = (f: { data: Float32Array; bins: number }) => Array.from(f.data.filter((_, i) => i % f.bins === 0));

describe('cropOrPad', () => {
  it('crops a random window of a longer clip, or its start', () => {
    const rng = new Rng(1);
    const starts = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const f = framesOf(cropOrPad(ramp(10), { frames: 4, crop: 'random', pad: 'repeat' }, rng));
      expect(f).toEqual([f[0]!, f[0]! + 1, f[0]! + 2, f[0]! + 3]);
      starts.add(f[0]!);
    }
    expect([...starts].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(framesOf(cropOrPad(ramp(10), { frames: 4, crop: 'start', pad: 'repeat' }, rng))).toEqual([1, 2, 3, 4]);
  });

  it('pads a shorter clip by repetition or with a constant', () => {
    const rng = new Rng(1);
    expect(framesOf(cropOrPad(ramp(3), { frames: 8, crop: 'random', pad: 'repeat' }, rng))).toEqual([1, 2, 3, 1, 2, 3, 1, 2]);
    expect(framesOf(cropOrPad(ramp(3), { frames: 5, crop: 'random', pad: 'constant', padValue: -1 }, rng))).toEqual([1, 2, 3, -1, -1]);
  });
});

describe('EpochSampler', () => {
  it('visits every clip once per epoch in a seeded order, and resumes from its state', () => {
    const a = new EpochSampler(5, 42);
    const epoch0 = Array.from({ length: 5 }, () => a.next());
    expect([...epoch0].sort()).toEqual([0, 1, 2, 3, 4]);
    a.next();
    const state = a.state;
    const rest = Array.from({ length: 12 }, () => a.next());
    const b = new EpochSampler(5, 0, JSON.parse(JSON.stringify(state)) as typeof state);
    expect(Array.from({ length: 12 }, () => b.next())).toEqual(rest);
    expect(Array.from({ length: 5 }, () => new EpochSampler(5, 42).next())).toEqual(Array(5).fill(epoch0[0]));
    expect(() => new EpochSampler(6, 0, state)).toThrow(TrainDataError);
  });
});

describe('makeBatch', () => {
  it('stacks cropped clips and their labels; rejects labels outside the class count', async () => {
    const source = arrayClipSource([{ fbank: ramp(6), label: 0 }, { fbank: ramp(2), label: 1 }]);
    const b = await makeBatch(source, [1, 0], { policy: { frames: 4, crop: 'start', pad: 'repeat' }, specAugment: null }, new Rng(0));
    expect(b.shape).toEqual([2, 4, 2]);
    expect(Array.from(b.labels)).toEqual([1, 0]);
    expect(framesOf({ data: b.data, bins: 2 })).toEqual([1, 2, 1, 2, 1, 2, 3, 4]);
    expect(() => arrayClipSource([{ fbank: ramp(2), label: 3 }], 2)).toThrow(TrainDataError);
  });

  it('waveform front end: crops/pads samples with the same seeded policy as frames, [B, samples], no SpecAugment', async () => {
    const wave = (n: number) => Float32Array.from({ length: n }, (_, i) => i + 1);
    const source = arrayClipSource([{ wave: wave(10), label: 0 }, { wave: wave(3), label: 1 }]);
    const policy = { frames: 99, samples: 4, crop: 'random' as const, pad: 'repeat' as const };
    const specAugment = { freqMaskParam: 1, timeMaskParam: 4, numFreqMasks: 1, numTimeMasks: 1 };
    const b = await makeBatch(source, [0, 1], { policy, specAugment, frontEnd: 'waveform' }, new Rng(7));
    expect(b.shape).toEqual([2, 4]);
    // the same draw as cropping a one-bin "fbank" of the samples with frames = samples
    const expected = cropOrPad({ data: wave(10), frames: 10, bins: 1 }, { ...policy, frames: 4 }, new Rng(7));
    expect(Array.from(b.data.subarray(0, 4))).toEqual(Array.from(expected.data));
    expect(Array.from(b.data.subarray(4))).toEqual([1, 2, 3, 1]);
    await expect(makeBatch(source, [0], { policy, specAugment: null }, new Rng(0))).rejects.toThrow(/reads fbanks/);
    const fbanks = arrayClipSource([{ fbank: ramp(6), label: 0 }]);
    await expect(makeBatch(fbanks, [0], { policy, specAugment: null, frontEnd: 'waveform' }, new Rng(0))).rejects.toThrow(TrainDataError);
  });

  it('without crop.samples a waveform example covers the audio of crop.frames Kaldi frames', async () => {
    expect(cropSamplesFor(998)).toBe(159920);
    const source = arrayClipSource([{ wave: new Float32Array(20000).fill(0.5), label: 0 }]);
    const b = await makeBatch(source, [0], { policy: { frames: 96, crop: 'start', pad: 'repeat' }, specAugment: null, frontEnd: 'waveform' }, new Rng(0));
    expect(b.shape).toEqual([1, 95 * 160 + 400]);
  });
});
