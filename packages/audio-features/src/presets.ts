import { kaldiFbank, type Fbank, type KaldiFbankOptions } from './fbank.js';

/** Dataset statistics of a backbone's pre-training fbank; features are normalised as (f - mean) / (2 * std). */
export interface FbankNormalization {
  readonly mean: number;
  readonly std: number;
}

/** BEATs (microsoft/unilm beats/BEATs.py `preprocess`). */
export const BEATS_FBANK: FbankNormalization = Object.freeze({ mean: 15.41663, std: 6.55582 });

/** AST AudioSet statistics (YuanGongND/ast). */
export const AST_FBANK: FbankNormalization = Object.freeze({ mean: -4.2677393, std: 4.5689974 });

export interface FbankPreset {
  readonly options: Readonly<Partial<KaldiFbankOptions>>;
  readonly normalization: FbankNormalization;
}

export type FbankPresetName = 'beats' | 'ast';

/**
 * How each backbone turns a 16 kHz waveform in [-1, 1) into features. BEATs scales to int16 range before
 * the fbank (its statistics were measured that way); AST feeds [-1, 1) audio through a Hanning window.
 */
export const FBANK_PRESETS: Readonly<Record<FbankPresetName, FbankPreset>> = Object.freeze({
  beats: Object.freeze({
    options: Object.freeze({ waveformScale: 2 ** 15, numMelBins: 128, sampleFrequency: 16000, frameLength: 25, frameShift: 10, dither: 0, windowType: 'povey' as const }),
    normalization: BEATS_FBANK,
  }),
  ast: Object.freeze({
    options: Object.freeze({ waveformScale: 1, numMelBins: 128, sampleFrequency: 16000, frameLength: 25, frameShift: 10, dither: 0, windowType: 'hanning' as const, htkCompat: true }),
    normalization: AST_FBANK,
  }),
});

/** (f - mean) / (2 * std), into a new array. */
export function normalizeFbank(fbank: Fbank, norm: FbankNormalization): Fbank {
  const data = new Float32Array(fbank.data.length);
  const scale = 1 / (2 * norm.std);
  for (let i = 0; i < data.length; i++) data[i] = (fbank.data[i]! - norm.mean) * scale;
  return { data, frames: fbank.frames, bins: fbank.bins };
}

export interface PresetFbankOptions {
  /** Skip normalisation (the raw log-mel values). */
  raw?: boolean;
  /** Names the input in error messages. */
  source?: string;
}

/** The fbank a backbone expects for a 16 kHz mono waveform: preset options, then its normalisation unless `raw`. */
export function presetFbank(wave: Float32Array, preset: FbankPresetName | FbankPreset, options: PresetFbankOptions = {}): Fbank {
  const p = typeof preset === 'string' ? FBANK_PRESETS[preset] : preset;
  const fbank = kaldiFbank(wave, { ...p.options, ...(options.source !== undefined ? { source: options.source } : {}) });
  return options.raw ? fbank : normalizeFbank(fbank, p.normalization);
}
