import { randomBytes } from 'node:crypto';
import { rename, unlink, writeFile } from 'node:fs/promises';

import { EmptyAudioError, NonFiniteAudioError, UnsupportedCodecError, WavEncodeError, WavFormatError, WavTruncatedError } from './errors.js';

/** Decoded audio: one Float32Array per channel, all the same length, samples in [-1, 1). */
export interface DecodedAudio {
  sampleRate: number;
  channels: Float32Array[];
}

const FORMAT_PCM = 0x0001;
const FORMAT_FLOAT = 0x0003;
const FORMAT_EXTENSIBLE = 0xfffe;

/** Codecs we recognise by tag only to name them in the error (we do not decode them). */
const CODEC_NAMES: Record<number, string> = {
  0x0002: 'Microsoft ADPCM',
  0x0006: 'A-law',
  0x0007: 'mu-law',
  0x0011: 'IMA ADPCM',
  0x0031: 'GSM 6.10',
  0x0050: 'MPEG audio',
  0x0055: 'MP3',
  0x0160: 'WMA',
  0x0161: 'WMA',
  0x00ff: 'AAC',
  0xf1ac: 'FLAC',
};

/** The last 12 bytes every KSDATAFORMAT_SUBTYPE_* GUID shares; only then do its first 2 bytes carry a format tag. */
const KSDATAFORMAT_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

function ascii(bytes: Uint8Array, start: number, length: number): string {
  let s = '';
  for (let i = start; i < start + length && i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

function isChunkId(bytes: Uint8Array, at: number): boolean {
  if (at + 4 > bytes.length) return false;
  for (let i = at; i < at + 4; i++) {
    const c = bytes[i]!;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** Say what a non-RIFF file actually is, so "MP3 renamed to .wav" reads as an unsupported codec, not as garbage. */
function sniffForeign(bytes: Uint8Array, source: string): never {
  const head = ascii(bytes, 0, 4);
  if (head.startsWith('ID3') || (bytes.length >= 2 && bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0)) {
    throw new UnsupportedCodecError(source, 'MP3 data, not a WAV file (convert it to PCM WAV first)');
  }
  const foreign: Record<string, string> = { fLaC: 'FLAC', OggS: 'Ogg', FORM: 'AIFF', RIFX: 'big-endian RIFX WAV', RF64: 'RF64 WAV' };
  const name = foreign[head];
  if (name !== undefined) throw new UnsupportedCodecError(source, `${name} data, not a little-endian RIFF WAV file`);
  throw new WavFormatError(source, `not a RIFF/WAVE file (starts with ${JSON.stringify(head)})`);
}

interface Fmt {
  tag: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bits: number;
}

function parseFmt(bytes: Uint8Array, at: number, size: number, source: string): Fmt {
  if (size < 16) throw new WavFormatError(source, `fmt chunk is ${size} bytes, need at least 16`);
  const v = new DataView(bytes.buffer, bytes.byteOffset + at, size);
  let tag = v.getUint16(0, true);
  const fmt = { channels: v.getUint16(2, true), sampleRate: v.getUint32(4, true), blockAlign: v.getUint16(12, true), bits: v.getUint16(14, true) };
  if (tag === FORMAT_EXTENSIBLE) {
    if (size < 40) throw new WavFormatError(source, `WAVE_FORMAT_EXTENSIBLE fmt chunk is ${size} bytes, need 40`);
    const guidTail = bytes.subarray(at + 26, at + 40);
    if (!KSDATAFORMAT_TAIL.every((b, i) => guidTail[i] === b)) {
      throw new UnsupportedCodecError(source, 'WAVE_FORMAT_EXTENSIBLE with a non-standard sub-format GUID');
    }
    tag = v.getUint16(24, true);
  }
  return { tag, ...fmt };
}

/**
 * Decode a RIFF/WAVE file to float channels scaled like `torchaudio.load(normalize=True)`:
 * unsigned 8-bit (x - 128) / 128, signed 16/24/32-bit x / 2^(bits-1) (container size), float32/64 as is.
 * Handles WAVE_FORMAT_EXTENSIBLE, chunks in any order, odd-size chunk padding and extra chunks (LIST, bext, ...).
 * `source` names the file in error messages.
 */
export function decodeWav(bytes: Uint8Array, source = '<buffer>'): DecodedAudio {
  if (bytes.length === 0) throw new EmptyAudioError(source, 'file is empty (0 bytes)');
  if (ascii(bytes, 0, 4) !== 'RIFF') sniffForeign(bytes, source);
  if (bytes.length < 12) throw new WavTruncatedError(source, `RIFF header cut short (${bytes.length} bytes)`);
  if (ascii(bytes, 8, 4) !== 'WAVE') throw new WavFormatError(source, `RIFF file of type ${JSON.stringify(ascii(bytes, 8, 4))}, not WAVE`);

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: Fmt | undefined;
  let dataAt = -1;
  let dataSize = 0;
  let at = 12;
  // The RIFF size field is ignored on purpose: many writers get it wrong, the chunk sizes are what matter.
  while (at + 8 <= bytes.length) {
    const id = ascii(bytes, at, 4);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    const available = bytes.length - body;
    if (id === 'fmt ') {
      if (size > available) throw new WavTruncatedError(source, `fmt chunk declares ${size} bytes but only ${available} remain`);
      fmt = parseFmt(bytes, body, size, source);
    } else if (id === 'data') {
      if (size > available) throw new WavTruncatedError(source, `data chunk declares ${size} bytes but only ${available} remain`);
      dataAt = body;
      dataSize = size;
    }
    let next = body + size + (size & 1);
    // Some writers forget the pad byte after an odd-sized chunk; trust the unpadded position only when it looks like a chunk id and the padded one does not.
    if ((size & 1) === 1 && !isChunkId(bytes, next) && isChunkId(bytes, body + size)) next = body + size;
    if (next <= at) break;
    at = next;
  }
  if (fmt === undefined) throw new WavFormatError(source, 'no fmt chunk');
  if (dataAt < 0) throw new WavFormatError(source, 'no data chunk');
  if (fmt.channels === 0) throw new WavFormatError(source, 'fmt chunk declares 0 channels');
  if (fmt.sampleRate === 0) throw new WavFormatError(source, 'fmt chunk declares a sample rate of 0 Hz');

  const { tag, channels, bits } = fmt;
  let bytesPerSample: number;
  if (tag === FORMAT_PCM) {
    if (bits < 1 || bits > 32) throw new UnsupportedCodecError(source, `${bits}-bit PCM`);
    bytesPerSample = Math.ceil(bits / 8);
  } else if (tag === FORMAT_FLOAT) {
    if (bits !== 32 && bits !== 64) throw new UnsupportedCodecError(source, `${bits}-bit IEEE float`);
    bytesPerSample = bits / 8;
  } else {
    const name = CODEC_NAMES[tag] ?? `format tag 0x${tag.toString(16).padStart(4, '0')}`;
    throw new UnsupportedCodecError(source, `${name} audio (only PCM and IEEE float WAV are decoded)`);
  }
  const frameBytes = bytesPerSample * channels;
  if (fmt.blockAlign !== frameBytes) {
    throw new WavFormatError(source, `block align ${fmt.blockAlign} does not match ${channels} channel(s) x ${bytesPerSample} bytes`);
  }
  if (dataSize % frameBytes !== 0) {
    throw new WavTruncatedError(source, `data chunk of ${dataSize} bytes ends in a partial ${frameBytes}-byte sample frame`);
  }
  const frames = dataSize / frameBytes;
  if (frames === 0) throw new EmptyAudioError(source, 'data chunk holds no samples');

  const out = Array.from({ length: channels }, () => new Float32Array(frames));
  const d = new DataView(bytes.buffer, bytes.byteOffset + dataAt, dataSize);
  for (let c = 0; c < channels; c++) {
    const ch = out[c]!;
    let p = c * bytesPerSample;
    if (tag === FORMAT_FLOAT) {
      for (let i = 0; i < frames; i++, p += frameBytes) {
        const x = bits === 32 ? d.getFloat32(p, true) : d.getFloat64(p, true);
        if (!Number.isFinite(x)) throw new NonFiniteAudioError(source, `sample ${i} of channel ${c} is ${x}`);
        ch[i] = x;
      }
    } else if (bytesPerSample === 1) {
      for (let i = 0; i < frames; i++, p += frameBytes) ch[i] = (d.getUint8(p) - 128) / 128;
    } else if (bytesPerSample === 2) {
      for (let i = 0; i < frames; i++, p += frameBytes) ch[i] = d.getInt16(p, true) / 32768;
    } else if (bytesPerSample === 3) {
      for (let i = 0; i < frames; i++, p += frameBytes) {
        const u = d.getUint8(p) | (d.getUint8(p + 1) << 8) | (d.getUint8(p + 2) << 16);
        ch[i] = ((u << 8) >> 8) / 8388608;
      }
    } else {
      for (let i = 0; i < frames; i++, p += frameBytes) ch[i] = d.getInt32(p, true) / 2147483648;
    }
  }
  return { sampleRate: fmt.sampleRate, channels: out };
}

export type WavBitDepth = 8 | 16 | 24 | 32 | 'float32' | 'float64';

export interface EncodeWavOptions {
  /** Integer PCM depths quantise with round-to-nearest and clip to the format's range; float depths store values as is. */
  bitDepth: WavBitDepth;
}

/** Encode channels as a canonical RIFF/WAVE file (PCM or IEEE float; float files get the `fact` chunk the spec asks for). */
export function encodeWav(audio: DecodedAudio, options: EncodeWavOptions = { bitDepth: 16 }): Uint8Array {
  const { sampleRate, channels } = audio;
  const { bitDepth } = options;
  if (!Number.isInteger(sampleRate) || sampleRate <= 0 || sampleRate > 0xffffffff) throw new WavEncodeError(`sample rate ${sampleRate} is not a positive integer`);
  if (channels.length === 0 || channels.length > 0xffff) throw new WavEncodeError(`cannot write ${channels.length} channels`);
  const frames = channels[0]!.length;
  for (const [c, ch] of channels.entries()) {
    if (ch.length !== frames) throw new WavEncodeError(`channel ${c} has ${ch.length} samples, channel 0 has ${frames}`);
  }
  const isFloat = bitDepth === 'float32' || bitDepth === 'float64';
  const bits = bitDepth === 'float32' ? 32 : bitDepth === 'float64' ? 64 : bitDepth;
  const bytesPerSample = bits / 8;
  const blockAlign = bytesPerSample * channels.length;
  const dataSize = blockAlign * frames;
  if (dataSize > 0xffffffff - 64) throw new WavEncodeError(`${dataSize} bytes of audio do not fit a RIFF file (4 GiB limit)`);
  const fmtSize = isFloat ? 18 : 16;
  const factSize = isFloat ? 12 : 0;
  const total = 12 + 8 + fmtSize + factSize + 8 + dataSize + (dataSize & 1);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  const put = (at: number, s: string): void => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  put(0, 'RIFF');
  v.setUint32(4, total - 8, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  v.setUint32(16, fmtSize, true);
  v.setUint16(20, isFloat ? FORMAT_FLOAT : FORMAT_PCM, true);
  v.setUint16(22, channels.length, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * blockAlign, true);
  v.setUint16(32, blockAlign, true);
  v.setUint16(34, bits, true);
  let at = 36;
  if (isFloat) {
    v.setUint16(at, 0, true); // cbSize
    at += 2;
    put(at, 'fact');
    v.setUint32(at + 4, 4, true);
    v.setUint32(at + 8, frames, true);
    at += 12;
  }
  put(at, 'data');
  v.setUint32(at + 4, dataSize, true);
  at += 8;
  const full = bits === 8 ? 128 : 2 ** (bits - 1);
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels.length; c++, at += bytesPerSample) {
      const x = channels[c]![i]!;
      if (!Number.isFinite(x)) throw new WavEncodeError(`sample ${i} of channel ${c} is ${x}`);
      if (bitDepth === 'float32') v.setFloat32(at, x, true);
      else if (bitDepth === 'float64') v.setFloat64(at, x, true);
      else {
        const q = Math.min(full - 1, Math.max(-full, Math.round(x * full)));
        if (bits === 8) v.setUint8(at, q + 128);
        else if (bits === 16) v.setInt16(at, q, true);
        else if (bits === 24) {
          v.setUint8(at, q & 0xff);
          v.setUint8(at + 1, (q >> 8) & 0xff);
          v.setUint8(at + 2, (q >> 16) & 0xff);
        } else v.setInt32(at, q, true);
      }
    }
  }
  return out;
}

/** Write a WAV file atomically (temp file in the same directory, then rename), so a crash never leaves half a file. */
export async function writeWav(path: string, audio: DecodedAudio, options: EncodeWavOptions = { bitDepth: 16 }): Promise<void> {
  const bytes = encodeWav(audio, options);
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
