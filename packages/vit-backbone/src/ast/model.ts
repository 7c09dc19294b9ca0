import type { Ops, ParamSpec } from '@anopatch/runtime';

import { BackboneConfigError, type Backbone, type ForwardOptions, type LoadedWeights, type WeightRecord } from '../backbone.js';
import { loadHfWeights, readHfConfig, type HfField } from '../common/hf.js';
import { spectrogramPatches } from '../common/patches.js';

/** The fields of Hugging Face's ASTConfig the model reads (config.json of an AST checkpoint). */
export interface AstConfig {
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: string;
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  layer_norm_eps: number;
  patch_size: number;
  qkv_bias: boolean;
  frequency_stride: number;
  time_stride: number;
  max_length: number;
  num_mel_bins: number;
}

/** ASTConfig's defaults: MIT/ast-finetuned-audioset-10-10-0.4593 (ViT-B, 1024 frames, 87M parameters). */
const FIELDS: { [K in keyof AstConfig]: HfField } = {
  hidden_size: { kind: 'int', default: 768 },
  num_hidden_layers: { kind: 'int', default: 12 },
  num_attention_heads: { kind: 'int', default: 12 },
  intermediate_size: { kind: 'int', default: 3072 },
  hidden_act: { kind: 'string', default: 'gelu' },
  hidden_dropout_prob: { kind: 'number', default: 0 },
  attention_probs_dropout_prob: { kind: 'number', default: 0 },
  layer_norm_eps: { kind: 'number', default: 1e-12 },
  patch_size: { kind: 'int', default: 16 },
  qkv_bias: { kind: 'bool', default: true },
  frequency_stride: { kind: 'int', default: 10 },
  time_stride: { kind: 'int', default: 10 },
  max_length: { kind: 'int', default: 1024 },
  num_mel_bins: { kind: 'int', default: 128 },
};

/** Read an AST config.json (absent fields take ASTConfig's defaults); `{}` is the published AudioSet model. */
export function parseAstConfig(raw: unknown, source = 'AST config'): AstConfig {
  const c = readHfConfig<AstConfig>(raw, FIELDS, source);
  const problems: string[] = [];
  if (c.hidden_act !== 'gelu') problems.push(`hidden_act '${c.hidden_act}' is not supported (only 'gelu')`);
  if (c.hidden_size % c.num_attention_heads !== 0) problems.push(`hidden_size ${c.hidden_size} is not a multiple of num_attention_heads ${c.num_attention_heads}`);
  if (c.max_length < c.patch_size || c.num_mel_bins < c.patch_size) problems.push(`max_length ${c.max_length} and num_mel_bins ${c.num_mel_bins} must be at least patch_size ${c.patch_size}`);
  for (const k of ['hidden_size', 'num_hidden_layers', 'intermediate_size', 'patch_size', 'frequency_stride', 'time_stride'] as const) if (c[k] <= 0) problems.push(`${k} must be positive`);
  if (problems.length) throw new BackboneConfigError(`${source}: ${problems.join('; ')}`);
  return c;
}

/**
 * The normalised value of a zero log-mel under the AST preset ((0 - mean) / (2 std) with
 * ASTFeatureExtractor's AudioSet statistics): what ASTFeatureExtractor's zero padding becomes.
 */
export const AST_PAD_VALUE = (0 - -4.2677393) / (2 * 4.5689974);

/**
 * Audio Spectrogram Transformer (Gong et al. 2021), numerically Hugging Face's ASTModel: overlapping
 * 16x16 patches (frequency/time strides 10) of the normalised 128-mel fbank, [CLS] + distillation
 * tokens, learned position embeddings, pre-LN ViT layers, final LayerNorm. Tokens [B, 2 + F*T', D]:
 * token 0 is [CLS], token 1 the distillation token, then patches frequency-major as HF flattens them.
 *
 * The position embeddings fix the input length: like ASTFeatureExtractor, every clip is cut to
 * `max_length` frames or padded to it with `padValue` (no interpolation). Frames the padding mask
 * marks are set to `padValue` too, so a clip in a padded batch gets the tokens it gets alone.
 * Parameter names are ASTModel's; `audio_spectrogram_transformer.`-prefixed checkpoints load too.
 */
export class AstBackbone implements Backbone {
  readonly id = 'ast';
  readonly frontEnd = 'fbank' as const;
  readonly hasClsToken = true;
  readonly fbankPreset = 'ast';
  readonly config: Readonly<AstConfig>;
  readonly padValue: number;

  constructor(config: Readonly<AstConfig> = parseAstConfig({}), options: { padValue?: number } = {}) {
    this.config = config;
    this.padValue = options.padValue ?? AST_PAD_VALUE;
  }

  get tokenDim(): number {
    return this.config.hidden_size;
  }
  get numLayers(): number {
    return this.config.num_hidden_layers;
  }
  /** Patches along the mel axis. */
  get frequencyPatches(): number {
    return Math.floor((this.config.num_mel_bins - this.config.patch_size) / this.config.frequency_stride) + 1;
  }
  /** Patches along time for `max_length` frames. */
  get timePatches(): number {
    return Math.floor((this.config.max_length - this.config.patch_size) / this.config.time_stride) + 1;
  }
  /** Tokens per clip: [CLS], distillation, patches. */
  get numTokens(): number {
    return 2 + this.frequencyPatches * this.timePatches;
  }

  paramSpecs(): ParamSpec[] {
    const c = this.config;
    const D = c.hidden_size;
    const p = c.patch_size;
    const specs: ParamSpec[] = [];
    const add = (name: string, shape: number[], init: ParamSpec['init']) => specs.push({ name, shape, init });
    // HF's _init_weights: trunc_normal(0.02) for linear/conv weights and the tokens, zero biases, unit LayerNorms
    const linear = (name: string, out: number, inp: number, bias = true) => {
      add(`${name}.weight`, [out, inp], { kind: 'normal', std: 0.02 });
      if (bias) add(`${name}.bias`, [out], { kind: 'zeros' });
    };
    const norm = (name: string) => {
      add(`${name}.weight`, [D], { kind: 'ones' });
      add(`${name}.bias`, [D], { kind: 'zeros' });
    };
    add('embeddings.cls_token', [1, 1, D], { kind: 'normal', std: 0.02 });
    add('embeddings.distillation_token', [1, 1, D], { kind: 'normal', std: 0.02 });
    add('embeddings.position_embeddings', [1, this.numTokens, D], { kind: 'normal', std: 0.02 });
    add('embeddings.patch_embeddings.projection.weight', [D, 1, p, p], { kind: 'normal', std: 0.02 });
    add('embeddings.patch_embeddings.projection.bias', [D], { kind: 'zeros' });
    for (let i = 0; i < c.num_hidden_layers; i++) {
      const l = `encoder.layer.${i}`;
      linear(`${l}.attention.attention.query`, D, D, c.qkv_bias);
      linear(`${l}.attention.attention.key`, D, D, c.qkv_bias);
      linear(`${l}.attention.attention.value`, D, D, c.qkv_bias);
      linear(`${l}.attention.output.dense`, D, D);
      linear(`${l}.intermediate.dense`, c.intermediate_size, D);
      linear(`${l}.output.dense`, D, c.intermediate_size);
      norm(`${l}.layernorm_before`);
      norm(`${l}.layernorm_after`);
    }
    norm('layernorm');
    return specs;
  }

  loadWeights(tensors: ReadonlyMap<string, WeightRecord>, meta: { source?: string } = {}): LoadedWeights {
    return loadHfWeights(this.paramSpecs(), tensors, meta.source ?? 'AST checkpoint', ['audio_spectrogram_transformer.']);
  }

  forward<T>(ops: Ops<T>, input: T, options: ForwardOptions<T>): T {
    const c = this.config;
    const tap = options.tap ?? (() => undefined);
    const training = options.training;
    const M = c.num_mel_bins;
    const L = c.max_length;
    const p = c.patch_size;
    const D = c.hidden_size;

    const u = spectrogramPatches(ops, input, { melBins: M, frames: L, patch: p, frequencyStride: c.frequency_stride, timeStride: c.time_stride, padValue: this.padValue, paddingMask: options.paddingMask });
    const pw = ops.reshape(ops.param('embeddings.patch_embeddings.projection.weight'), [D, p * p]);
    const patches = ops.linear(u, pw, ops.param('embeddings.patch_embeddings.projection.bias'));
    tap('patch_embed', patches);

    const zeros = ops.mul(ops.slice(patches, 1, 0, 1), ops.scalar(0)); // [B, 1, D], to broadcast the tokens over the batch
    let h = ops.concat([ops.add(zeros, ops.param('embeddings.cls_token')), ops.add(zeros, ops.param('embeddings.distillation_token')), patches], 1);
    h = ops.add(h, ops.param('embeddings.position_embeddings'));
    tap('embeddings', h);
    if (training) h = ops.dropout(h, c.hidden_dropout_prob);

    for (let i = 0; i < c.num_hidden_layers; i++) {
      const hi = h;
      // one layer's intermediates alive at a time (layer 0's attention output is tapped, so not scoped away)
      h = i === 0 && options.tap ? this.layer(ops, i, hi, training, tap) : ops.scope(() => this.layer(ops, i, hi, training));
      tap(`layer_${i}`, h);
    }
    h = ops.layerNorm(h, ops.param('layernorm.weight'), ops.param('layernorm.bias'), c.layer_norm_eps);
    tap('final', h);
    return h;
  }

  private layer<T>(ops: Ops<T>, i: number, x: T, training: boolean, tap?: (name: string, v: T) => void): T {
    const c = this.config;
    const l = `encoder.layer.${i}`;
    const H = c.num_attention_heads;
    const hd = c.hidden_size / H;
    const ln = (name: string, v: T) => ops.layerNorm(v, ops.param(`${l}.${name}.weight`), ops.param(`${l}.${name}.bias`), c.layer_norm_eps);
    const lin = (name: string, v: T, bias = true) => ops.linear(v, ops.param(`${l}.${name}.weight`), bias ? ops.param(`${l}.${name}.bias`) : undefined);
    const heads = (v: T) => ops.transpose(ops.reshape(v, [0, 0, H, hd]), [0, 2, 1, 3]);

    const a = ln('layernorm_before', x);
    // scaling q rather than the [B, H, P, P] scores saves one P x P tensor per layer (1214 tokens at 1024 frames)
    const q = ops.mul(heads(lin('attention.attention.query', a, c.qkv_bias)), ops.scalar(1 / Math.sqrt(hd)));
    const k = heads(lin('attention.attention.key', a, c.qkv_bias));
    const v = heads(lin('attention.attention.value', a, c.qkv_bias));
    let probs = ops.softmax(ops.matMul(q, k, { transposeB: true }), -1);
    if (training) probs = ops.dropout(probs, c.attention_probs_dropout_prob);
    const ctx = ops.reshape(ops.transpose(ops.matMul(probs, v), [0, 2, 1, 3]), [0, 0, c.hidden_size]);
    let att = lin('attention.output.dense', ctx);
    tap?.('layer0_attention', att);
    if (training) att = ops.dropout(att, c.hidden_dropout_prob);
    const h = ops.add(x, att);
    let f = lin('output.dense', ops.gelu(lin('intermediate.dense', ln('layernorm_after', h))));
    if (training) f = ops.dropout(f, c.hidden_dropout_prob);
    return ops.add(h, f);
  }
}
