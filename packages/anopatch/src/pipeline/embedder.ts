import { presetFbank, type FbankPresetName } from '@anopatch/audio-features';

import { type AnoPatchModel } from '../model/model.js';

import { modelHash } from './hash.js';

/** Turns 16 kHz mono waveforms into utterance embeddings. `hash` identifies it for the cache. */
export interface ClipEmbedder {
  readonly hash: string;
  readonly dim: number;
  /** A short human description, e.g. 'beats (tiny cfg) + asp -> 128, TF.js wasm'. */
  readonly description: string;
  embed(waves: readonly Float32Array[]): Promise<Float32Array[]>;
}

export interface ModelEmbedderOptions {
  /** Fbank normalisation preset of the backbone (default 'beats'). */
  preset?: FbankPresetName;
  batchSize?: number;
  description?: string;
}

/** The AnoPatch model on TF.js: fbank (preset) -> model.embed, clips of equal length batched together. */
export async function modelEmbedder(model: AnoPatchModel, options: ModelEmbedderOptions = {}): Promise<ClipEmbedder> {
  const preset = options.preset ?? 'beats';
  const hash = await modelHash(model, { preset, frontEnd: model.backbone.frontEnd });
  return {
    hash,
    dim: model.config.head.embedDim,
    description: options.description ?? `${model.config.backbone} + ${model.config.head.pooling} -> ${model.config.head.embedDim}`,
    embed: (waves) => {
      const fbanks = waves.map((w) => presetFbank(w, preset));
      return Promise.resolve(model.embed(fbanks, { batchSize: options.batchSize ?? 8 }));
    },
  };
}
