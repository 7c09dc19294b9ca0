/**
 * Typed errors of @anopatch/audio-features: one class per failure kind, each message starts with the
 * file (or `<buffer>` when bytes came from memory) so the CLI's one-line report says which input was bad.
 */
export class AudioError extends Error {
  override name = 'AudioError';
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

/** The file could not be read at all (missing, a directory, no permission). */
export class AudioReadError extends AudioError {
  override name = 'AudioReadError';
}

/** The file has no bytes at all, or its data chunk holds no sample frames. */
export class EmptyAudioError extends AudioError {
  override name = 'EmptyAudioError';
}

/** Not a RIFF/WAVE file, or its header is inconsistent (missing fmt/data chunk, zero channels, bad block size). */
export class WavFormatError extends AudioError {
  override name = 'WavFormatError';
}

/** A chunk (usually `data`) claims more bytes than the file holds, or ends in a partial sample frame. */
export class WavTruncatedError extends AudioError {
  override name = 'WavTruncatedError';
}

/** A well-formed container whose codec we do not decode (mu-law, a-law, ADPCM, MP3 in a .wav, FLAC, ...). */
export class UnsupportedCodecError extends AudioError {
  override name = 'UnsupportedCodecError';
}

/** Samples that are NaN or infinite (possible in float WAVs); they would poison every feature downstream. */
export class NonFiniteAudioError extends AudioError {
  override name = 'NonFiniteAudioError';
}

/** The clip is shorter than one analysis frame, so no feature frame can be produced. */
export class ClipTooShortError extends AudioError {
  override name = 'ClipTooShortError';
}

/** Options that cannot describe a valid computation (e.g. low_freq >= high_freq, fewer than 4 mel bins). */
export class FeatureOptionsError extends Error {
  override name = 'FeatureOptionsError';
}

/** `encodeWav` was given audio it cannot write faithfully (ragged channels, non-finite samples, bad rate). */
export class WavEncodeError extends Error {
  override name = 'WavEncodeError';
}
