import { presetFbank, type FbankPresetName } from '@anopatch/audio-features';
import type { TensorData } from '@anopatch/runtime';

import { type AnoPatchModel, type ClipInput } from '../model/model.js';
import { poolAndProject } from '../pooling/head.js';

import { modelHash, sha256Hex } from './hash.js';

/** Turns 16 kHz mono waveforms into utterance embeddings. `hash` identifies it for the cache. */
export interface ClipEmbedder {
  readonly hash: string;
  readonly dim: number;
  /** A short human description, e.g. 'beats (tiny cfg) + asp -> 128, TF.js wasm'. */
  readonly description: string;
  /** 'tfjs' or 'onnx' (a network), 'features' (no network: fbankStatsEmbedder) */
  readonly engine: 'tfjs' | 'onnx' | 'features';
  embed(waves: readonly Float32Array[]): Promise<Float32Array[]>;
  /** Frees engine resources (ONNX session); the TF.js model stays the caller's. */
  release(): Promise<void>;
}

export interface ModelEmbedderOptions {
  /** Fbank normalisation preset (default: the one the backbone declares it was pre-trained with). */
  preset?: FbankPresetName;
  batchSize?: number;
  description?: string;
}

/**
 * What the model's backbone reads for a 16 kHz waveform: the preset's normalised fbank, or the
 * waveform itself for a waveform backbone (the one front-end switch both engines share).
 */
function presetOf(model: AnoPatchModel, options: ModelEmbedderOptions): FbankPresetName {
  return options.preset ?? model.backbone.fbankPreset ?? 'beats';
}

function modelInput(model: AnoPatchModel, preset: FbankPresetName): (wave: Float32Array) => ClipInput {
  return model.backbone.frontEnd === 'waveform' ? (w) => w : (w) => presetFbank(w, preset);
}

/**
 * The AnoPatch model on TF.js: fbank (preset) or waveform (waveform backbones) -> model.embed,
 * clips of equal length batched together. The cache hash covers the model, the preset, the front
 * end and the engine (engines agree to float round-off only).
 */
export async function modelEmbedder(model: AnoPatchModel, options: ModelEmbedderOptions = {}): Promise<ClipEmbedder> {
  const preset = presetOf(model, options);
  const hash = await modelHash(model, { preset, frontEnd: model.backbone.frontEnd, engine: 'tfjs' });
  return {
    hash,
    dim: model.config.head.embedDim,
    engine: 'tfjs',
    description: options.description ?? `${model.config.backbone} + ${model.config.head.pooling} -> ${model.config.head.embedDim}`,
    embed: (waves) => Promise.resolve(model.embed(waves.map(modelInput(model, preset)), { batchSize: options.batchSize ?? 8 })),
    release: () => Promise.resolve(),
  };
}

export interface OnnxEmbedderOptions extends ModelEmbedderOptions {
  /** ONNX Runtime intra-op threads (default: all cores). */
  threads?: number;
}

/**
 * The same model lowered to ONNX (its forward pass written once against the op interface) and run by
 * onnxruntime-node: fbank [batch, frames, mel] (or waveform [batch, samples]) in, `embedding` [batch, dim] out.
 */
export async function onnxModelEmbedder(model: AnoPatchModel, options: OnnxEmbedderOptions = {}): Promise<ClipEmbedder> {
  const { buildOnnxModel, createOnnxEmbedder } = await import('@anopatch/onnx-engine');
  const preset = options.preset ?? 'beats';
  const weights = new Map<string, TensorData>();
  for (const [name, v] of model.params) weights.set(name, { shape: [...v.shape], data: (await v.data()) as Float32Array });
  const input = modelInput(model, preset);
  const builder = buildOnnxModel({
    weights,
    source: 'AnoPatch model',
    graphName: `anopatch-${model.config.backbone}`,
    inputs: [
      model.backbone.frontEnd === 'waveform'
        ? { name: 'waveform', shape: ['batch', 'samples'] }
        : { name: 'fbank', shape: ['batch', 'frames', presetFbank(new Float32Array(400), preset).bins] },
    ],
    forward: (ops, [x]) => {
      const tokens = model.backbone.forward(ops, x!, { training: false });
      return { embedding: poolAndProject(ops, tokens, model.config.head.pooling, { training: false }).embedding };
    },
  });
  const onnx = await createOnnxEmbedder({
    model: builder.toBytes(),
    outputName: 'embedding',
    batchSize: options.batchSize ?? 8,
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
  });
  const hash = await modelHash(model, { preset, frontEnd: model.backbone.frontEnd, engine: 'onnx' });
  return {
    hash,
    dim: model.config.head.embedDim,
    engine: 'onnx',
    description: options.description ?? `${model.config.backbone} + ${model.config.head.pooling} -> ${model.config.head.embedDim} (ONNX Runtime)`,
    embed: async (waves) => {
      const inputs = waves.map((w) => {
        const x = input(w);
        return x instanceof Float32Array ? { shape: [x.length], data: x } : { shape: [x.frames, x.bins], data: x.data };
      });
      const out = await onnx.embed(inputs);
      return out.map((t) => t.data);
    },
    release: () => onnx.release(),
  };
}

/**
 * A no-network reference: per mel bin, the mean and the standard deviation over time of the
 * normalised fbank (2 x mel values). Run through the same banks and metrics it shows what the data
 * allow without any learned representation.
 */
export function fbankStatsEmbedder(options: { preset?: FbankPresetName } = {}): ClipEmbedder {
  const preset = options.preset ?? 'beats';
  const mel = presetFbank(new Float32Array(400), preset).bins;
  return {
    hash: sha256Hex(`fbank-stats/v1/${preset}`),
    dim: 2 * mel,
    engine: 'features',
    description: `log-mel statistics (mean and std of each of ${mel} ${preset} fbank bins; no network)`,
    embed: (waves) =>
      Promise.resolve(
        waves.map((w) => {
          const fb = presetFbank(w, preset);
          const out = new Float32Array(2 * fb.bins);
          const mean = new Float64Array(fb.bins);
          const sq = new Float64Array(fb.bins);
          for (let t = 0; t < fb.frames; t++) {
            for (let b = 0; b < fb.bins; b++) {
              const v = fb.data[t * fb.bins + b]!;
              mean[b]! += v;
              sq[b]! += v * v;
            }
          }
          for (let b = 0; b < fb.bins; b++) {
            const m = mean[b]! / fb.frames;
            out[b] = m;
            out[fb.bins + b] = Math.sqrt(Math.max(0, sq[b]! / fb.frames - m * m));
          }
          return out;
        }),
      ),
    release: () => Promise.resolve(),
  };
}
