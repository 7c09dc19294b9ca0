import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadReferenceNpy, maxAbsDiff, referencePath } from '@anopatch/test-fixtures';
import { afterAll, describe, expect, it } from 'vitest';

import { loadAudio16k, loadAudio16kSync, toMono } from './audio.js';
import { AudioReadError, EmptyAudioError, WavTruncatedError } from './errors.js';
import { packageName } from './index.js';
import { encodeWav } from './wav.js';

const dir = mkdtempSync(join(tmpdir(), 'af-audio-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('toMono / loadAudio16k', () => {
  it('averages channels', () => {
    expect(Array.from(toMono([Float32Array.from([1, 0.5]), Float32Array.from([0, -0.5])]))).toEqual([0.5, 0]);
    expect(Array.from(toMono({ sampleRate: 8000, channels: [Float32Array.from([0.25])] }))).toEqual([0.25]);
  });

  it('reads, mixes down and resamples the 44.1 kHz stereo clip to the torchaudio waveform (<= 1e-6)', async () => {
    const ref = loadReferenceNpy('clip_c_16k.npy').data as Float32Array;
    expect(maxAbsDiff(await loadAudio16k(referencePath('clip_c_44k.wav')), ref)).toBeLessThanOrEqual(1e-6);
    const a = loadAudio16kSync(referencePath('clip_a.wav'));
    expect(a.length).toBe(32000);
  });

  it('names the file in its typed errors', async () => {
    const empty = join(dir, 'empty.wav');
    writeFileSync(empty, new Uint8Array(0));
    await expect(loadAudio16k(empty)).rejects.toThrow(EmptyAudioError);
    await expect(loadAudio16k(empty)).rejects.toThrow(empty);
    const cut = join(dir, 'cut.wav');
    const full = encodeWav({ sampleRate: 16000, channels: [new Float32Array(1000)] }, { bitDepth: 16 });
    writeFileSync(cut, full.subarray(0, 1500));
    expect(() => loadAudio16kSync(cut)).toThrow(WavTruncatedError);
    await expect(loadAudio16k(join(dir, 'missing.wav'))).rejects.toThrow(AudioReadError);
    expect(() => loadAudio16kSync(join(dir, 'missing.wav'))).toThrow(/missing\.wav: cannot read \(no such file\)/);
    expect(() => loadAudio16kSync(dir)).toThrow(AudioReadError);
    copyFileSync(referencePath('clip_a.wav'), join(dir, 'ok.wav'));
    expect(loadAudio16kSync(join(dir, 'ok.wav')).length).toBe(32000);
  });

  it('is exported under the package name', () => {
    expect(packageName).toBe('@anopatch/audio-features');
  });
});
