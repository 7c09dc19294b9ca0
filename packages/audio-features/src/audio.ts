import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

import { AudioReadError, WavFormatError } from './errors.js';
import { resample } from './resample.js';
import { decodeWav, type DecodedAudio } from './wav.js';

/** Channel mean (what `waveform.mean(0)` does in torchaudio pipelines). */
export function toMono(audio: DecodedAudio | readonly Float32Array[]): Float32Array {
  const channels = Array.isArray(audio) ? (audio as readonly Float32Array[]) : (audio as DecodedAudio).channels;
  if (channels.length === 0) throw new WavFormatError('<audio>', 'no channels to mix down');
  const first = channels[0]!;
  if (channels.length === 1) return Float32Array.from(first);
  const n = first.length;
  for (const [c, ch] of channels.entries()) {
    if (ch.length !== n) throw new WavFormatError('<audio>', `channel ${c} has ${ch.length} samples, channel 0 has ${n}`);
  }
  const out = new Float32Array(n);
  const inv = 1 / channels.length;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (const ch of channels) s += ch[i]!;
    out[i] = s * inv;
  }
  return out;
}

export const TARGET_SAMPLE_RATE = 16000;

function to16k(audio: DecodedAudio): Float32Array {
  // mix down first: resampling is linear, so this costs 1/channels of the work and differs from
  // resample-then-mean only by float round-off (<= 1.5e-7 on the reference clip)
  return resample(toMono(audio), audio.sampleRate, TARGET_SAMPLE_RATE);
}

function readError(path: string, err: unknown): AudioReadError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : String((err as Error).message ?? err);
  return new AudioReadError(path, `cannot read (${why})`);
}

/** Read a WAV file, decode, mix to mono and resample to 16 kHz (typed errors name `path`). */
export async function loadAudio16k(path: string): Promise<Float32Array> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw readError(path, err);
  }
  return to16k(decodeWav(bytes, path));
}

/** Synchronous twin of loadAudio16k for callers that iterate files in a tight loop. */
export function loadAudio16kSync(path: string): Float32Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw readError(path, err);
  }
  return to16k(decodeWav(bytes, path));
}
