import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { encodeWav } from '@anopatch/audio-features';
import { readNpy } from '@anopatch/checkpoint';
import { loadReferenceNpy, maxAbsDiff, referencePath } from '@anopatch/test-fixtures';
import { describe, expect, it } from 'vitest';

import { captureOutput, tempDir } from '../__tests__/support.js';
import { EXIT } from '../errors.js';
import { main } from '../program.js';

const dir = tempDir('anopatch-features-');

const io = captureOutput();

describe('anopatch features', () => {
  it('writes the normalised BEATs fbank of clip_a within 2e-4 of the reference', async () => {
    const out = join(dir, 'a.npy');
    expect(await main(['features', referencePath('clip_a.wav'), '--out', out])).toBe(EXIT.ok);
    const got = readNpy(readFileSync(out));
    const ref = loadReferenceNpy('clip_a.fbank.npy');
    expect(got.dtype).toBe('float32');
    expect(got.shape).toEqual([198, 128]);
    expect(maxAbsDiff(got.data as Float32Array, ref.data as Float32Array)).toBeLessThanOrEqual(2e-4);
  });

  it('--raw from the 44.1 kHz stereo clip matches the raw reference within 1e-3', async () => {
    const out = join(dir, 'c.npy');
    expect(await main(['features', referencePath('clip_c_44k.wav'), '--out', out, '--raw', '--preset', 'beats'])).toBe(EXIT.ok);
    const got = readNpy(readFileSync(out));
    expect(got.shape).toEqual([148, 128]);
    expect(maxAbsDiff(got.data as Float32Array, loadReferenceNpy('clip_c.fbank_raw.npy').data as Float32Array)).toBeLessThanOrEqual(1e-3);
  });

  it('--preset ast writes AST-normalised features of the same shape', async () => {
    const out = join(dir, 'b_ast.npy');
    expect(await main(['features', referencePath('clip_b.wav'), '--out', out, '--preset', 'ast'])).toBe(EXIT.ok);
    expect(readNpy(readFileSync(out)).shape).toEqual([303, 128]);
  });

  it('a bad wav gives exit code 1 and one line naming the file; nothing is written', async () => {
    const bad = join(dir, 'bad.wav');
    writeFileSync(bad, new Uint8Array(0));
    const out = join(dir, 'bad.npy');
    expect(await main(['features', bad, '--out', out])).toBe(EXIT.failure);
    expect(io.stderr.join('')).toBe(`anopatch: EmptyAudioError: ${bad}: file is empty (0 bytes)\n`);
    const mp3 = join(dir, 'song.wav');
    writeFileSync(mp3, Uint8Array.from([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0, 0, 0]));
    expect(await main(['features', mp3, '--out', out])).toBe(EXIT.failure);
    expect(io.stderr.at(-1)).toMatch(/UnsupportedCodecError: .*song\.wav: MP3/);
    const short = join(dir, 'short.wav');
    writeFileSync(short, encodeWav({ sampleRate: 16000, channels: [new Float32Array(100)] }, { bitDepth: 16 }));
    expect(await main(['features', short, '--out', out])).toBe(EXIT.failure);
    expect(io.stderr.at(-1)).toMatch(/ClipTooShortError: .*short\.wav: 100 samples/);
    expect(() => readFileSync(out)).toThrow();
  });

  it('refuses to overwrite without --force, and rejects unknown presets as usage errors', async () => {
    const out = join(dir, 'exists.npy');
    writeFileSync(out, 'keep me');
    expect(await main(['features', referencePath('clip_a.wav'), '--out', out])).toBe(EXIT.failure);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    expect(await main(['features', referencePath('clip_a.wav'), '--out', out, '--force'])).toBe(EXIT.ok);
    expect(readNpy(readFileSync(out)).shape).toEqual([198, 128]);
    expect(await main(['features', referencePath('clip_a.wav'), '--out', out, '--preset', 'wav2vec'])).toBe(EXIT.usage);
    expect(await main(['features', referencePath('clip_a.wav')])).toBe(EXIT.usage);
  });
});
