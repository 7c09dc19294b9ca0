/** Public API of @anopatch/audio-features: plain typed arrays in, plain typed arrays out (no TensorFlow.js). */
export const packageName = '@anopatch/audio-features';

export {
  AudioError,
  AudioReadError,
  ClipTooShortError,
  EmptyAudioError,
  FeatureOptionsError,
  NonFiniteAudioError,
  UnsupportedCodecError,
  WavEncodeError,
  WavFormatError,
  WavTruncatedError,
} from './errors.js';
export { decodeWav, encodeWav, writeWav, type DecodedAudio, type EncodeWavOptions, type WavBitDepth } from './wav.js';
export { loadAudio16k, loadAudio16kSync, TARGET_SAMPLE_RATE, toMono } from './audio.js';
export { resample, RESAMPLE_DEFAULTS, type ResampleOptions, type ResamplingMethod } from './resample.js';
export { ComplexFft, RealFft } from './fft.js';
export {
  fbankFrameCount,
  featureWindow,
  kaldiFbank,
  KALDI_FBANK_DEFAULTS,
  melBanks,
  type Fbank,
  type KaldiFbankOptions,
  type WindowType,
} from './fbank.js';
export {
  AST_FBANK,
  BEATS_FBANK,
  FBANK_PRESETS,
  normalizeFbank,
  presetFbank,
  type FbankNormalization,
  type FbankPreset,
  type FbankPresetName,
  type PresetFbankOptions,
} from './presets.js';
export { specAugment, type RandomSource, type SpecAugmentOptions } from './specaugment.js';
export { mulberry32, Rng } from './rng.js';
export { measureFbank, type FbankSpeed, type MeasureFbankOptions } from './bench.js';
