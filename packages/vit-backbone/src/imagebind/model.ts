import type { Ops, ParamSpec } from '@anopatch/runtime';

import { BackboneConfigError, type Backbone, type ForwardOptions, type LoadedWeights, type WeightRecord } from '../backbone.js';
import { loadHfWeights, readHfConfig, type HfField } from '../common/hf.js';
import { spectrogramPatches } from '../common/patches.js';

/** The audio branch's constructor arguments of ImageBindModel (imagebind_huge uses the defaults). */
export interface ImageBindAudioConfig {
  embed_dim: number;
  num_blocks: number;
  num_heads: number;
  kernel_size: number;
  stride: number;
  num_mel_bins: number;
  /** Frames per clip (ImageBind: 204, about 2 s); position embeddings fix it. */
  target_len: number;
  /** Stochastic depth of the last block (blocks get linspace(0, drop_path)). */
  drop_path: number;
}

const FIELDS: { [K in keyof ImageBindAudioConfig]: HfField } = {
  embed_dim: { kind: 'int', default: 768 },
  num_blocks: { kind: 'int', default: 12 },
  num_heads: { kind: 'int', default: 12 },
  kernel_size: { kind: 'int', default: 16 },
  stride: { kind: 'int', default: 10 },
  num_mel_bins: { kind: 'int', default: 128 },
  target_len: { kind: 'int', default: 204 },
  drop_path: { kind: 'number', default: 0.1 },
};

/** Read an ImageBind audio cfg (absent fields: imagebind_huge's audio branch). */
export function parseImageBindAudioConfig(raw: unknown, source = 'ImageBind audio cfg'): ImageBindAudioConfig {
  const c = readHfConfig<ImageBindAudioConfig>(raw, FIELDS, source);
  const problems: string[] = [];
  if (c.embed_dim % c.num_heads !== 0) problems.push(`embed_dim ${c.embed_dim} is not a multiple of num_heads ${c.num_heads}`);
  if (c.target_len < c.kernel_size || c.num_mel_bins < c.kernel_size) problems.push(`target_len ${c.target_len} and num_mel_bins ${c.num_mel_bins} must be at least kernel_size ${c.kernel_size}`);
  for (const k of ['embed_dim', 'num_blocks', 'kernel_size', 'stride'] as const) if (c[k] <= 0) problems.push(`${k} must be positive`);
  if (problems.length) throw new BackboneConfigError(`${source}: ${problems.join('; ')}`);
  return c;
}

/** waveform2melspec pads the log-mel with zeros, then Normalize(mean=-4.268, std=9.138): padding becomes this. */
export const IMAGEBIND_PAD_VALUE = (0 - -4.268) / 9.138;

const A = 'modality_preprocessors.audio.';
const T = 'modality_trunks.audio.';
/** LayerNorm eps of the trunk blocks and the head (ImageBind's _LAYER_NORM / heads); the patch LayerNorm uses torch's 1e-5. */
const BLOCK_EPS = 1e-6;
const STEM_EPS = 1e-5;

/**
 * ImageBind's audio encoder (Girdhar et al. 2023): the official audio branch up to the head's
 * LayerNorm. Input: the normalised 128-mel fbank [B, frames, 128] (ImageBind's statistics are AST's:
 * mean -4.268, std 9.138 = 2 x 4.569); each clip is cut or padded to `target_len` frames (204, 2 s
 * as ImageBind samples its clips; longer audio must be split by the caller) with the normalised zero
 * log-mel, padded frames of a batch included. Tokens [B, 1 + F*T', D], token 0 the [CLS] the joint
 * embedding is projected from. Parameter names are the official ones (imagebind_huge.pth); other
 * modalities and the joint projection are reported unused.
 */
export class ImageBindAudioBackbone implements Backbone {
  readonly id = 'imagebind';
  readonly frontEnd = 'fbank' as const;
  readonly hasClsToken = true;
  readonly fbankPreset = 'ast';
  readonly config: Readonly<ImageBindAudioConfig>;
  readonly padValue: number;

  constructor(config: Readonly<ImageBindAudioConfig> = parseImageBindAudioConfig({}), options: { padValue?: number } = {}) {
    this.config = config;
    this.padValue = options.padValue ?? IMAGEBIND_PAD_VALUE;
  }

  get tokenDim(): number {
    return this.config.embed_dim;
  }
  get numLayers(): number {
    return this.config.num_blocks;
  }
  get numTokens(): number {
    const c = this.config;
    return 1 + (Math.floor((c.num_mel_bins - c.kernel_size) / c.stride) + 1) * (Math.floor((c.target_len - c.kernel_size) / c.stride) + 1);
  }

  paramSpecs(): ParamSpec[] {
    const c = this.config;
    const D = c.embed_dim;
    const k = c.kernel_size;
    const specs: ParamSpec[] = [];
    const add = (name: string, shape: number[], init: ParamSpec['init']) => specs.push({ name, shape, init });
    const norm = (name: string) => {
      add(`${name}.weight`, [D], { kind: 'ones' });
      add(`${name}.bias`, [D], { kind: 'zeros' });
    };
    // OpenCLIP-style init of the tokens (normal * D^-0.5), jax-style xavier for the trunk's linears
    add(`${A}cls_token`, [1, 1, D], { kind: 'normal', std: Math.pow(D, -0.5) });
    add(`${A}rgbt_stem.proj.weight`, [D, 1, k, k], { kind: 'xavierUniform' });
    norm(`${A}rgbt_stem.norm_layer`);
    add(`${A}pos_embedding_helper.pos_embed`, [1, this.numTokens, D], { kind: 'normal', std: Math.pow(D, -0.5) });
    for (let i = 0; i < c.num_blocks; i++) {
      const b = `${T}blocks.${i}.`;
      add(`${b}attn.in_proj_weight`, [3 * D, D], { kind: 'xavierUniform' });
      add(`${b}attn.in_proj_bias`, [3 * D], { kind: 'zeros' });
      add(`${b}attn.bias_k`, [1, 1, D], { kind: 'normal', std: Math.sqrt(2 / (2 * D)) });
      add(`${b}attn.bias_v`, [1, 1, D], { kind: 'normal', std: Math.sqrt(2 / (2 * D)) });
      add(`${b}attn.out_proj.weight`, [D, D], { kind: 'xavierUniform' });
      add(`${b}attn.out_proj.bias`, [D], { kind: 'zeros' });
      norm(`${b}norm_1`);
      norm(`${b}norm_2`);
      add(`${b}mlp.fc1.weight`, [4 * D, D], { kind: 'xavierUniform' });
      add(`${b}mlp.fc1.bias`, [4 * D], { kind: 'zeros' });
      add(`${b}mlp.fc2.weight`, [D, 4 * D], { kind: 'xavierUniform' });
      add(`${b}mlp.fc2.bias`, [D], { kind: 'zeros' });
    }
    norm('modality_heads.audio.0');
    return specs;
  }

  loadWeights(tensors: ReadonlyMap<string, WeightRecord>, meta: { source?: string } = {}): LoadedWeights {
    return loadHfWeights(this.paramSpecs(), tensors, meta.source ?? 'ImageBind checkpoint', []);
  }

  forward<T>(ops: Ops<T>, input: T, options: ForwardOptions<T>): T {
    const c = this.config;
    const tap = options.tap ?? (() => undefined);
    const D = c.embed_dim;
    const k = c.kernel_size;
    const u = spectrogramPatches(ops, input, { melBins: c.num_mel_bins, frames: c.target_len, patch: k, frequencyStride: c.stride, timeStride: c.stride, padValue: this.padValue, paddingMask: options.paddingMask });
    let x = ops.linear(u, ops.reshape(ops.param(`${A}rgbt_stem.proj.weight`), [D, k * k]));
    tap('patch_embed', x);
    x = ops.layerNorm(x, ops.param(`${A}rgbt_stem.norm_layer.weight`), ops.param(`${A}rgbt_stem.norm_layer.bias`), STEM_EPS);
    const zeros = ops.mul(ops.slice(x, 1, 0, 1), ops.scalar(0)); // [B, 1, D]
    x = ops.add(ops.concat([ops.add(zeros, ops.param(`${A}cls_token`)), x], 1), ops.param(`${A}pos_embedding_helper.pos_embed`));
    tap('embeddings', x);
    for (let i = 0; i < c.num_blocks; i++) {
      const rate = c.num_blocks > 1 ? (c.drop_path * i) / (c.num_blocks - 1) : 0;
      const xi = x;
      // one block's intermediates alive at a time (block 0's attention output is tapped, so not scoped away)
      x = i === 0 && options.tap ? this.block(ops, i, xi, zeros, options.training ? rate : 0, tap) : ops.scope(() => this.block(ops, i, xi, zeros, options.training ? rate : 0));
      tap(`layer_${i}`, x);
    }
    x = ops.layerNorm(x, ops.param('modality_heads.audio.0.weight'), ops.param('modality_heads.audio.0.bias'), BLOCK_EPS);
    tap('final', x);
    return x;
  }

  private block<T>(ops: Ops<T>, i: number, x: T, zeros: T, dropPath: number, tap?: (name: string, v: T) => void): T {
    const b = `${T}blocks.${i}.`;
    const ln = (name: string, v: T) => ops.layerNorm(v, ops.param(`${b}${name}.weight`), ops.param(`${b}${name}.bias`), BLOCK_EPS);
    // timm DropPath: one keep/drop draw per sample, kept samples scaled by 1 / (1 - rate)
    const drop = (v: T) => (dropPath > 0 ? ops.mul(v, ops.dropout(ops.add(ops.slice(zeros, 2, 0, 1), ops.scalar(1)), dropPath)) : v);
    const a = this.attention(ops, b, ln('norm_1', x), zeros);
    tap?.('layer0_attention', a);
    const h = ops.add(x, drop(a));
    const lin = (name: string, v: T) => ops.linear(v, ops.param(`${b}mlp.${name}.weight`), ops.param(`${b}mlp.${name}.bias`));
    return ops.add(h, drop(lin('fc2', ops.gelu(lin('fc1', ln('norm_2', h))))));
  }

  /** nn.MultiheadAttention with add_bias_kv: a learned key and value appended to every sequence. */
  private attention<T>(ops: Ops<T>, b: string, x: T, zeros: T): T {
    const c = this.config;
    const D = c.embed_dim;
    const H = c.num_heads;
    const hd = D / H;
    const w = ops.param(`${b}attn.in_proj_weight`);
    const bias = ops.param(`${b}attn.in_proj_bias`);
    const proj = (j: number) => ops.linear(x, ops.slice(w, 0, j * D, (j + 1) * D), ops.slice(bias, 0, j * D, (j + 1) * D));
    const heads = (v: T) => ops.transpose(ops.reshape(v, [0, -1, H, hd]), [0, 2, 1, 3]);
    const q = heads(ops.mul(proj(0), ops.scalar(Math.pow(hd, -0.5))));
    const k = heads(ops.concat([proj(1), ops.add(zeros, ops.param(`${b}attn.bias_k`))], 1));
    const v = heads(ops.concat([proj(2), ops.add(zeros, ops.param(`${b}attn.bias_v`))], 1));
    const probs = ops.softmax(ops.matMul(q, k, { transposeB: true }), -1);
    const ctx = ops.reshape(ops.transpose(ops.matMul(probs, v), [0, 2, 1, 3]), [0, 0, D]);
    return ops.linear(ctx, ops.param(`${b}attn.out_proj.weight`), ops.param(`${b}attn.out_proj.bias`));
  }
}
