import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { referencePath } from '@anopatch/test-fixtures';
import { describe, expect, it } from 'vitest';

import { EmptyAudioError, NonFiniteAudioError, UnsupportedCodecError, WavEncodeError, WavFormatError, WavTruncatedError } from './errors.js';
import { decodeWav, encodeWav, writeWav } from './wav.js';

/** Assemble a RIFF/WAVE file from raw chunks, padding odd chunks unless told not to. */
function riff(chunks: [string, Uint8Array][], { pad = true } = {}): Uint8Array {
  const parts: number[] = [];
  for (const [id, body] of chunks) {
    for (const c of id) parts.push(c.charCodeAt(0));
    parts.push(body.length & 0xff, (body.length >> 8) & 0xff, (body.length >> 16) & 0xff, (body.length >>> 24) & 0xff);
    parts.push(...body);
    if (pad && body.length % 2 === 1) parts.push(0);
  }
  const out = new Uint8Array(12 + parts.length);
  out.set([0x52, 0x49, 0x46, 0x46], 0);
  new DataView(out.buffer).setUint32(4, 4 + parts.length, true);
  out.set([0x57, 0x41, 0x56, 0x45], 8);
  out.set(parts, 12);
  return out;
}

function fmt(tag: number, channels: number, rate: number, bits: number, extensible?: { subTag: number; validBits: number }): Uint8Array {
  const size = extensible ? 40 : 16;
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  const block = Math.ceil(bits / 8) * channels;
  v.setUint16(0, extensible ? 0xfffe : tag, true);
  v.setUint16(2, channels, true);
  v.setUint32(4, rate, true);
  v.setUint32(8, rate * block, true);
  v.setUint16(12, block, true);
  v.setUint16(14, bits, true);
  if (extensible) {
    v.setUint16(16, 22, true);
    v.setUint16(18, extensible.validBits, true);
    v.setUint32(20, channels === 2 ? 3 : 4, true);
    v.setUint16(24, extensible.subTag, true);
    b.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 26);
  }
  return b;
}

const bytes = (...xs: number[]): Uint8Array => Uint8Array.from(xs);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('decodeWav', () => {
  it('decodes the 16-bit reference clip like torchaudio.load (int16 / 32768)', () => {
    const raw = readFileSync(referencePath('clip_a.wav'));
    const audio = decodeWav(raw, 'clip_a.wav');
    expect(audio.sampleRate).toBe(16000);
    expect(audio.channels).toHaveLength(1);
    expect(audio.channels[0]!.length).toBe(32000);
    const at = raw.indexOf('data') + 8;
    const view = new DataView(raw.buffer, raw.byteOffset);
    for (const i of [0, 1, 12345, 31999]) expect(audio.channels[0]![i]).toBe(view.getInt16(at + 2 * i, true) / 32768);
  });

  it('scales every PCM depth to [-1, 1) and keeps floats as they are', () => {
    const u8 = decodeWav(riff([['fmt ', fmt(1, 1, 8000, 8)], ['data', bytes(0, 128, 255)]]));
    expect(Array.from(u8.channels[0]!)).toEqual([-1, 0, 127 / 128]);
    const s24 = decodeWav(riff([['fmt ', fmt(1, 1, 8000, 24)], ['data', bytes(0x00, 0x00, 0x80, 0xff, 0xff, 0x7f, 0x01, 0x00, 0x00)]]));
    expect(Array.from(s24.channels[0]!)).toEqual([-1, Math.fround(8388607 / 8388608), Math.fround(1 / 8388608)]);
    const i32 = new Uint8Array(8);
    new DataView(i32.buffer).setInt32(0, -2147483648, true);
    new DataView(i32.buffer).setInt32(4, 1 << 30, true);
    expect(Array.from(decodeWav(riff([['fmt ', fmt(1, 1, 8000, 32)], ['data', i32]])).channels[0]!)).toEqual([-1, 0.5]);
    const f64 = new Uint8Array(16);
    new DataView(f64.buffer).setFloat64(0, 0.25, true);
    new DataView(f64.buffer).setFloat64(8, -0.75, true);
    expect(Array.from(decodeWav(riff([['fmt ', fmt(3, 1, 8000, 64)], ['data', f64]])).channels[0]!)).toEqual([0.25, -0.75]);
  });

  it('de-interleaves channels and reads WAVE_FORMAT_EXTENSIBLE (PCM and float sub-formats)', () => {
    const data = new Uint8Array(8);
    const v = new DataView(data.buffer);
    [1000, -1000, 2000, -2000].forEach((x, i) => v.setInt16(2 * i, x, true));
    const stereo = decodeWav(riff([['fmt ', fmt(1, 2, 16000, 16, { subTag: 1, validBits: 16 })], ['data', data]]));
    expect(stereo.channels.map((c) => Array.from(c))).toEqual([[1000 / 32768, 2000 / 32768], [-1000 / 32768, -2000 / 32768]]);
    const fl = new Uint8Array(4);
    new DataView(fl.buffer).setFloat32(0, 0.5, true);
    expect(Array.from(decodeWav(riff([['fmt ', fmt(3, 1, 16000, 32, { subTag: 3, validBits: 32 })], ['data', fl]])).channels[0]!)).toEqual([0.5]);
  });

  it('skips extra chunks (LIST, bext, odd-sized) in any order, with or without the pad byte', () => {
    const pcm = bytes(0x00, 0x40, 0x00, 0xc0);
    const expected = [0.5, -0.5];
    const withExtras = riff([['bext', new Uint8Array(603)], ['fmt ', fmt(1, 1, 22050, 16)], ['LIST', text('INFOISFT\x05\x00\x00\x00test\x00')], ['data', pcm], ['id3 ', new Uint8Array(7)]]);
    expect(Array.from(decodeWav(withExtras).channels[0]!)).toEqual(expected);
    expect(decodeWav(withExtras).sampleRate).toBe(22050);
    const unpadded = riff([['fmt ', fmt(1, 1, 16000, 16)], ['junk', new Uint8Array(3)], ['data', pcm]], { pad: false });
    expect(Array.from(decodeWav(unpadded).channels[0]!)).toEqual(expected);
    const dataFirst = riff([['data', pcm], ['fmt ', fmt(1, 1, 16000, 16)]]);
    expect(Array.from(decodeWav(dataFirst).channels[0]!)).toEqual(expected);
  });

  it('throws a typed error naming the file for each kind of bad input', () => {
    const ok = riff([['fmt ', fmt(1, 1, 16000, 16)], ['data', new Uint8Array(8)]]);
    expect(() => decodeWav(new Uint8Array(0), 'empty.wav')).toThrow(EmptyAudioError);
    expect(() => decodeWav(new Uint8Array(0), 'empty.wav')).toThrow(/^empty\.wav: file is empty/);
    expect(() => decodeWav(ok.subarray(0, ok.length - 3), 'cut.wav')).toThrow(WavTruncatedError);
    expect(() => decodeWav(ok.subarray(0, ok.length - 3), 'cut.wav')).toThrow(/cut\.wav: data chunk declares 8 bytes but only 5 remain/);
    expect(() => decodeWav(ok.subarray(0, 8), 'stub.wav')).toThrow(WavTruncatedError);
    expect(() => decodeWav(riff([['fmt ', fmt(1, 1, 16000, 16)], ['data', new Uint8Array(3)]]), 'odd.wav')).toThrow(WavTruncatedError);
    expect(() => decodeWav(riff([['fmt ', fmt(7, 1, 8000, 8)], ['data', new Uint8Array(8)]]), 'ulaw.wav')).toThrow(/ulaw\.wav: mu-law audio/);
    expect(() => decodeWav(riff([['fmt ', fmt(6, 1, 8000, 8)], ['data', new Uint8Array(8)]]), 'alaw.wav')).toThrow(UnsupportedCodecError);
    expect(() => decodeWav(riff([['fmt ', fmt(1, 1, 8000, 16, { subTag: 7, validBits: 8 })], ['data', new Uint8Array(8)]]), 'x.wav')).toThrow(UnsupportedCodecError);
    expect(() => decodeWav(Uint8Array.from([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0, 0, 0]), 'song.wav')).toThrow(/song\.wav: MP3 data/);
    expect(() => decodeWav(Uint8Array.from([0xff, 0xfb, 0x90, 0x64, 0, 0, 0, 0]), 'song.wav')).toThrow(UnsupportedCodecError);
    expect(() => decodeWav(text('fLaC\0\0\0\x22'), 'a.wav')).toThrow(UnsupportedCodecError);
    expect(() => decodeWav(text('hello world, not audio'), 'txt.wav')).toThrow(WavFormatError);
    expect(() => decodeWav(riff([['fmt ', fmt(1, 0, 16000, 16)], ['data', new Uint8Array(8)]]), 'zero.wav')).toThrow(/zero\.wav: fmt chunk declares 0 channels/);
    expect(() => decodeWav(riff([['fmt ', fmt(1, 1, 16000, 16)]]), 'nodata.wav')).toThrow(/no data chunk/);
    expect(() => decodeWav(riff([['data', new Uint8Array(8)]]), 'nofmt.wav')).toThrow(/no fmt chunk/);
    expect(() => decodeWav(riff([['fmt ', fmt(1, 1, 16000, 16)], ['data', new Uint8Array(0)]]), 'silent.wav')).toThrow(EmptyAudioError);
    const nan = new Uint8Array(8);
    new DataView(nan.buffer).setFloat32(4, Number.NaN, true);
    expect(() => decodeWav(riff([['fmt ', fmt(3, 1, 16000, 32)], ['data', nan]]), 'nan.wav')).toThrow(NonFiniteAudioError);
  });
});

describe('encodeWav', () => {
  const x = Float32Array.from([0, 0.5, -0.5, 0.99, -1, 0.123456]);

  it('round-trips every depth within its quantisation step', () => {
    for (const [bitDepth, step] of [[8, 1 / 128], [16, 1 / 32768], [24, 1 / 8388608], [32, 2 ** -31], ['float32', 0], ['float64', 0]] as const) {
      const back = decodeWav(encodeWav({ sampleRate: 44100, channels: [x, x.map((v) => -v)] }, { bitDepth }));
      expect(back.sampleRate).toBe(44100);
      for (let i = 0; i < x.length; i++) {
        expect(Math.abs(back.channels[0]![i]! - x[i]!)).toBeLessThanOrEqual(step / 2 + 1e-12);
      }
      expect(back.channels[1]![1]).toBeCloseTo(-0.5, 6);
    }
  });

  it('clips out-of-range samples instead of wrapping, and rejects ragged or non-finite input', () => {
    const back = decodeWav(encodeWav({ sampleRate: 16000, channels: [Float32Array.from([1.5, -2])] }, { bitDepth: 16 }));
    expect(Array.from(back.channels[0]!)).toEqual([32767 / 32768, -1]);
    expect(() => encodeWav({ sampleRate: 16000, channels: [new Float32Array(2), new Float32Array(3)] }, { bitDepth: 16 })).toThrow(WavEncodeError);
    expect(() => encodeWav({ sampleRate: 16000, channels: [Float32Array.from([Number.NaN])] }, { bitDepth: 16 })).toThrow(WavEncodeError);
    expect(() => encodeWav({ sampleRate: 0, channels: [new Float32Array(1)] }, { bitDepth: 16 })).toThrow(WavEncodeError);
  });

  it('reproduces the reference clip byte for byte from its decoded samples', () => {
    const raw = readFileSync(referencePath('clip_a.wav'));
    const again = encodeWav(decodeWav(raw), { bitDepth: 16 });
    const at = raw.indexOf('data') + 8;
    expect(Buffer.from(again.subarray(again.length - 64000)).equals(raw.subarray(at, at + 64000))).toBe(true);
  });

  it('writeWav writes atomically and the file decodes back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'af-wav-'));
    try {
      const path = join(dir, 'out.wav');
      await writeWav(path, { sampleRate: 16000, channels: [x] }, { bitDepth: 'float32' });
      expect(Array.from(decodeWav(readFileSync(path)).channels[0]!)).toEqual(Array.from(x));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
