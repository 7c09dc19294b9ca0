import * as tf from '@tensorflow/tfjs-core';

import { createTfParams, TfOps, type ParamSpec, type TensorData } from '@anopatch/runtime';
import { createBackbone, loadBackboneCheckpoint, type Backbone } from '@anopatch/vit-backbone';

import { ModelConfigError, ModelStateError } from '../errors.js';
import {
  BN_MOMENTUM,
  BN_NUM_BATCHES_TRACKED,
  HEAD_BUFFERS,
  HEAD_DEFAULTS,
  HEAD_PARAM,
  headParamSpecs,
  poolAndProject,
  type HeadConfig,
  type PoolingKind,
} from '../pooling/head.js';

/** What rebuilds a model: the backbone's registry id and factory options, and the head. */
export interface AnoPatchModelConfig {
  /** Registry id (`createBackbone(id, options)`), e.g. 'beats'. */
  backbone: string;
  /** Factory options, e.g. `{ config: <BEATs cfg> }`; must be JSON (it is stored in model.json). */
  backboneOptions?: Record<string, unknown>;
  /** 'auto' (default): the [CLS] token where the backbone has one, else attentive statistics pooling. */
  pooling?: PoolingKind | 'auto';
  /** ASP attention channels (ECAPA default 128). */
  attentionChannels?: number;
  /** Embedding dimension (paper: 128). */
  embedDim?: number;
}

export interface ResolvedModelConfig {
  backbone: string;
  backboneOptions: Record<string, unknown>;
  head: HeadConfig;
}

/** Model parameters live under these prefixes in our checkpoints (their own names after it). */
export const BACKBONE_PREFIX = 'backbone.';
export const HEAD_PREFIX = 'head.';

export interface CreateModelOptions {
  /** A backbone instance to use instead of `createBackbone(config.backbone, config.backboneOptions)`. */
  backboneInstance?: Backbone;
  /** Pre-trained backbone weights by our param name (e.g. `loadBeatsCheckpoint(...).weights`). */
  backboneWeights?: ReadonlyMap<string, TensorData>;
  /** Head weights by SpeechBrain name (e.g. from a head.pt); fresh init where absent. */
  headWeights?: ReadonlyMap<string, TensorData>;
  /** Seed of the fresh init. Default 0. */
  seed?: number;
}

export interface ForwardResult {
  /** [B, E] */
  embedding: tf.Tensor2D;
  /** Training mode + ASP: BatchNorm batch statistics [A] and the number of positions they were taken over. */
  batchStats?: { mean: tf.Tensor1D; variance: tf.Tensor1D; count: number };
}

export interface EmbedOptions {
  /** Clips per forward pass; clips are grouped by length (equal lengths batch together). Default 8. */
  batchSize?: number;
}

/** A normalised fbank as audio-features gives it (frames x bins, row-major). */
export interface FbankInput {
  data: Float32Array;
  frames: number;
  bins: number;
}

/** One clip as the backbone reads it: a normalised fbank, or a 16 kHz waveform (waveform front end). */
export type ClipInput = FbankInput | Float32Array;

/**
 * The AnoPatch model: backbone tokens -> pooling (ASP or [CLS]) -> linear to the embedding.
 * All parameters are tf.Variables (all trainable except BatchNorm's running statistics, which
 * training updates outside the gradient with PyTorch's momentum 0.1 and unbiased variance).
 */
export class AnoPatchModel {
  readonly config: ResolvedModelConfig;
  readonly backbone: Backbone;
  /** Every tensor the forward pass reads, by the name `Ops.param` uses. */
  readonly params: Map<string, tf.Variable>;
  private readonly backboneNames: Set<string>;
  private readonly ops: TfOps;
  /** BatchNorm1d.num_batches_tracked (kept for state-dict fidelity; momentum is fixed, so unused). */
  numBatchesTracked = 0;

  private constructor(config: ResolvedModelConfig, backbone: Backbone, params: Map<string, tf.Variable>, backboneNames: Set<string>) {
    this.config = config;
    this.backbone = backbone;
    this.params = params;
    this.backboneNames = backboneNames;
    this.ops = new TfOps(params);
  }

  /**
   * A model on an official pre-trained checkpoint (BEATs_iter3.pt, a Hugging Face model folder, an
   * EAT/ImageBind/ATST .pt): the backbone's architecture comes from the checkpoint's own config (never
   * from defaults), its weights are loaded, the head is freshly initialised. The config is kept in
   * `model.config.backboneOptions`, so a saved model rebuilds exactly. `unused` lists checkpoint
   * tensors the backbone does not read (e.g. a pre-training head).
   */
  static fromPretrained(
    backbone: string,
    weightsPath: string,
    head: Omit<AnoPatchModelConfig, 'backbone' | 'backboneOptions'> = {},
    options: Pick<CreateModelOptions, 'seed' | 'headWeights'> = {},
  ): { model: AnoPatchModel; unused: string[] } {
    const loaded = loadBackboneCheckpoint(backbone, weightsPath);
    const model = AnoPatchModel.create(
      { ...head, backbone, backboneOptions: loaded.config === null ? {} : { config: loaded.config } },
      { ...options, backboneInstance: loaded.backbone, backboneWeights: loaded.weights },
    );
    return { model, unused: loaded.unused };
  }

  static create(config: AnoPatchModelConfig, options: CreateModelOptions = {}): AnoPatchModel {
    const backbone = options.backboneInstance ?? createBackbone(config.backbone, config.backboneOptions);
    const resolved = resolveModelConfig(config, backbone);
    const backboneSpecs = backbone.paramSpecs();
    const headSpecs = headParamSpecs(resolved.head);
    const names = new Set(backboneSpecs.map((s) => s.name));
    for (const s of headSpecs) {
      if (names.has(s.name)) throw new ModelConfigError(`backbone '${config.backbone}' has a parameter named '${s.name}', which the pooling head also uses`);
    }
    const seed = options.seed ?? 0;
    const params = new Map<string, tf.Variable>();
    const add = (specs: ParamSpec[], loaded: ReadonlyMap<string, TensorData> | undefined, salt: number, trainable: boolean) => {
      const made = createTfParams(specs, { ...(loaded ? { loaded } : {}), seed: seed + salt, trainable });
      for (const [k, v] of made) params.set(k, v);
    };
    add(backboneSpecs, options.backboneWeights, 0, true);
    // running statistics are state the trainer updates, not trainable parameters
    add(headSpecs.filter((s) => !HEAD_BUFFERS.includes(s.name)), options.headWeights, 1, true);
    add(headSpecs.filter((s) => HEAD_BUFFERS.includes(s.name)), options.headWeights, 2, false);
    return new AnoPatchModel(resolved, backbone, params, names);
  }

  /** Parameters the optimizer updates, in a stable order. */
  trainableParams(): Map<string, tf.Variable> {
    return new Map([...this.params].filter(([, v]) => v.trainable));
  }

  /**
   * Forward pass on a normalised fbank batch [B, frames, mel] (or waveforms [B, samples] for a
   * waveform backbone). `random` drives layer drop and dropout masks. Call inside tf.tidy or
   * dispose the results.
   */
  forward(input: tf.Tensor, options: { training: boolean; random?: () => number; paddingMask?: tf.Tensor }): ForwardResult {
    // dropout masks come from the same seeded source as layer drop (unseeded TF.js masks would break exact resume)
    this.ops.random = options.random;
    let tokens: tf.Tensor;
    try {
      tokens = this.backbone.forward(this.ops, input, {
        training: options.training,
        ...(options.paddingMask ? { paddingMask: options.paddingMask } : {}),
        ...(options.random ? { random: options.random } : {}),
      });
    } finally {
      this.ops.random = undefined;
    }
    const out = poolAndProject(this.ops, tokens, this.config.head.pooling, { training: options.training });
    const result: ForwardResult = { embedding: out.embedding as tf.Tensor2D };
    if (out.batchStats) {
      result.batchStats = {
        mean: out.batchStats.mean as tf.Tensor1D,
        variance: out.batchStats.variance as tf.Tensor1D,
        count: (tokens.shape[0] ?? 1) * (tokens.shape[1] ?? 1),
      };
    }
    return result;
  }

  /** PyTorch BatchNorm1d's running-statistics update from one training forward's batch statistics. */
  updateBatchNorm(stats: NonNullable<ForwardResult['batchStats']>): void {
    const rm = this.params.get(HEAD_PARAM.bnRunningMean);
    const rv = this.params.get(HEAD_PARAM.bnRunningVar);
    if (!rm || !rv) return;
    const n = stats.count;
    tf.tidy(() => {
      rm.assign(tf.add(tf.mul(rm, 1 - BN_MOMENTUM), tf.mul(stats.mean, BN_MOMENTUM)));
      rv.assign(tf.add(tf.mul(rv, 1 - BN_MOMENTUM), tf.mul(stats.variance, (BN_MOMENTUM * n) / Math.max(1, n - 1))));
    });
    this.numBatchesTracked += 1;
  }

  /**
   * Embeddings of whole clips (inference mode), one Float32Array of length E per clip, in input
   * order: normalised fbanks for an fbank backbone, 16 kHz waveforms for a waveform backbone
   * (`backbone.frontEnd`). Clips of equal length are batched together, so no padding enters the pooling.
   */
  embed(clips: readonly ClipInput[], options: EmbedOptions = {}): Float32Array[] {
    const batchSize = options.batchSize ?? 8;
    const waveform = this.backbone.frontEnd === 'waveform';
    const rows = clips.map((c, i) => {
      if (waveform !== (c instanceof Float32Array)) {
        throw new ModelConfigError(`clip ${i} is ${waveform ? 'an fbank' : 'a waveform'}, but backbone '${this.config.backbone}' reads ${waveform ? 'waveforms' : 'fbanks'}`);
      }
      return c instanceof Float32Array ? { data: c, frames: c.length, bins: 1 } : c;
    });
    const out = new Array<Float32Array>(clips.length);
    const byLength = new Map<string, number[]>();
    rows.forEach((c, i) => {
      const key = `${c.frames}x${c.bins}`;
      const list = byLength.get(key) ?? [];
      list.push(i);
      byLength.set(key, list);
    });
    for (const indices of byLength.values()) {
      for (let start = 0; start < indices.length; start += batchSize) {
        const group = indices.slice(start, start + batchSize);
        const { frames, bins } = rows[group[0]!]!;
        const embedded = tf.tidy(() => {
          const data = new Float32Array(group.length * frames * bins);
          group.forEach((ci, j) => data.set(rows[ci]!.data, j * frames * bins));
          const input = tf.tensor(data, waveform ? [group.length, frames] : [group.length, frames, bins]);
          return this.forward(input, { training: false }).embedding;
        });
        const values = embedded.dataSync() as Float32Array;
        const E = embedded.shape[1];
        embedded.dispose();
        group.forEach((ci, j) => (out[ci] = values.slice(j * E, (j + 1) * E)));
      }
    }
    return out;
  }

  /**
   * Model state as plain data: `backbone.<name>`, `head.<name>` (SpeechBrain names, BatchNorm
   * buffers and num_batches_tracked included).
   */
  async state(): Promise<Map<string, TensorData>> {
    const out = new Map<string, TensorData>();
    for (const [name, v] of this.params) {
      out.set(this.qualified(name), { shape: [...v.shape], data: (await v.data()) as Float32Array });
    }
    if (this.params.has(HEAD_PARAM.bnRunningMean)) {
      out.set(HEAD_PREFIX + BN_NUM_BATCHES_TRACKED, { shape: [], data: Float32Array.of(this.numBatchesTracked) });
    }
    return out;
  }

  /** Restore what `state()` gave; every parameter must be there with its shape. */
  loadState(state: ReadonlyMap<string, TensorData>, source = 'model state'): void {
    for (const [name, v] of this.params) {
      const key = this.qualified(name);
      const t = state.get(key);
      if (!t) throw new ModelStateError(source, `missing tensor '${key}'`);
      if (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i])) {
        throw new ModelStateError(source, `tensor '${key}' has shape [${t.shape.join(', ')}], the model expects [${v.shape.join(', ')}]`);
      }
      tf.tidy(() => v.assign(tf.tensor(t.data, v.shape, 'float32')));
    }
    const nbt = state.get(HEAD_PREFIX + BN_NUM_BATCHES_TRACKED);
    if (nbt) this.numBatchesTracked = nbt.data[0]!;
  }

  private qualified(name: string): string {
    return (this.backboneNames.has(name) ? BACKBONE_PREFIX : HEAD_PREFIX) + name;
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}

export function resolveModelConfig(config: AnoPatchModelConfig, backbone: Backbone): ResolvedModelConfig {
  const pooling: PoolingKind = (config.pooling ?? 'auto') === 'auto' ? (backbone.hasClsToken ? 'cls' : 'asp') : (config.pooling as PoolingKind);
  if (pooling === 'cls' && !backbone.hasClsToken) {
    throw new ModelConfigError(`pooling 'cls' needs a backbone with a [CLS] token; '${config.backbone}' has none (use 'asp' or 'auto')`);
  }
  const attentionChannels = config.attentionChannels ?? HEAD_DEFAULTS.attentionChannels;
  const embedDim = config.embedDim ?? HEAD_DEFAULTS.embedDim;
  for (const [k, v] of Object.entries({ attentionChannels, embedDim })) {
    if (!Number.isInteger(v) || v < 1) throw new ModelConfigError(`${k} must be a positive integer, got ${v}`);
  }
  return {
    backbone: config.backbone,
    backboneOptions: config.backboneOptions ?? {},
    head: { pooling, channels: backbone.tokenDim, attentionChannels, embedDim },
  };
}
