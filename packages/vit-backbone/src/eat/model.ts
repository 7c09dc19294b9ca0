import type { Ops, ParamSpec } from '@anopatch/runtime';

import { BackboneConfigError, type Backbone, type ForwardOptions, type LoadedWeights, type WeightRecord } from '../backbone.js';
import { loadHfWeights, readHfConfig, type HfField } from '../common/hf.js';
import { fitFrames } from '../common/patches.js';

/** EAT's encoder hyper-parameters (fairseq Data2VecMultiConfig + the image modality's patch/target_length). */
export interface EatConfig {
  embed_dim: number;
  depth: number;
  num_heads: number;
  mlp_ratio: number;
  patch_size: number;
  num_mel_bins: number;
  /** Frames per clip (EAT: 1024); the fixed position grid is (target_length / patch, mel / patch). */
  target_length: number;
  norm_eps: number;
  /** Dropout after attention (proj_drop) and the MLP (post_mlp_drop), and on attention probabilities. */
  encoder_dropout: number;
  post_mlp_drop: number;
  attention_dropout: number;
  activation_dropout: number;
  /** Stochastic depth of the last block (blocks get linspace(start, end)); EAT pre-training: 0. */
  end_drop_path_rate: number;
}

/** EAT-base (EAT-base_epoch30 pre-training cfg). */
const FIELDS: { [K in keyof EatConfig]: HfField } = {
  embed_dim: { kind: 'int', default: 768 },
  depth: { kind: 'int', default: 12 },
  num_heads: { kind: 'int', default: 12 },
  mlp_ratio: { kind: 'number', default: 4 },
  patch_size: { kind: 'int', default: 16 },
  num_mel_bins: { kind: 'int', default: 128 },
  target_length: { kind: 'int', default: 1024 },
  norm_eps: { kind: 'number', default: 1e-6 },
  encoder_dropout: { kind: 'number', default: 0 },
  post_mlp_drop: { kind: 'number', default: 0 },
  attention_dropout: { kind: 'number', default: 0 },
  activation_dropout: { kind: 'number', default: 0 },
  end_drop_path_rate: { kind: 'number', default: 0 },
};

export function parseEatConfig(raw: unknown, source = 'EAT cfg'): EatConfig {
  const c = readHfConfig<EatConfig>(raw, FIELDS, source);
  const problems: string[] = [];
  if (c.embed_dim % c.num_heads !== 0) problems.push(`embed_dim ${c.embed_dim} is not a multiple of num_heads ${c.num_heads}`);
  if (c.embed_dim % 4 !== 0) problems.push(`embed_dim ${c.embed_dim} must be a multiple of 4 for the 2-D sin-cos positions`);
  if (c.target_length % c.patch_size !== 0 || c.num_mel_bins % c.patch_size !== 0) problems.push(`target_length ${c.target_length} and num_mel_bins ${c.num_mel_bins} must be multiples of patch_size ${c.patch_size}`);
  if (!Number.isInteger(c.mlp_ratio * c.embed_dim)) problems.push(`mlp_ratio ${c.mlp_ratio} x embed_dim is not an integer`);
  if (problems.length) throw new BackboneConfigError(`${source}: ${problems.join('; ')}`);
  return c;
}

/** EAT's feature extraction pads the log-mel with zeros, then (x + 4.268) / (2 * 4.569). */
export const EAT_PAD_VALUE = (0 - -4.268) / (2 * 4.569);

/**
 * MAE's fixed 2-D sin-cos position table for a gh x gw grid (row-major, row = time): the first half
 * of the channels encodes the column (mel patch), the second half the row, each as [sin, cos] of
 * position / 10000^(2i / half).
 */
export function eatPositions(dim: number, gh: number, gw: number): Float32Array {
  const half = dim / 2;
  const quarter = half / 2;
  const out = new Float32Array(gh * gw * dim);
  for (let h = 0; h < gh; h++)
    for (let w = 0; w < gw; w++) {
      const row = (h * gw + w) * dim;
      for (let i = 0; i < quarter; i++) {
        const omega = 1 / Math.pow(10000, i / quarter);
        out[row + i] = Math.sin(w * omega);
        out[row + quarter + i] = Math.cos(w * omega);
        out[row + half + i] = Math.sin(h * omega);
        out[row + half + quarter + i] = Math.cos(h * omega);
      }
    }
  return out;
}

const M = 'modality_encoders.IMAGE.';

/**
 * EAT (Chen et al. 2024, data2vec 2.0's image encoder on audio), its encoder as EAT's
 * extract_features runs it unmasked: 16x16 patches of the [frames, mel] image (time-major patch
 * order), fixed 2-D sin-cos positions, an extra [CLS] token, the context encoder's LayerNorm, post-LN
 * blocks, no final norm. Input: the normalised fbank (AST statistics); clips are cut or padded to
 * `target_length` with the normalised zero log-mel. Tokens [B, 1 + (T/16)(mel/16), D].
 * Parameter names are the fairseq checkpoint's (`model.`-prefixed fine-tuned checkpoints load too);
 * the stored fixed positions are checked against the computed table, the decoder is unused.
 */
export class EatBackbone implements Backbone {
  readonly id = 'eat';
  readonly frontEnd = 'fbank' as const;
  readonly hasClsToken = true;
  readonly fbankPreset = 'ast';
  readonly config: Readonly<EatConfig>;
  readonly padValue: number;

  constructor(config: Readonly<EatConfig> = parseEatConfig({}), options: { padValue?: number } = {}) {
    this.config = config;
    this.padValue = options.padValue ?? EAT_PAD_VALUE;
  }

  get tokenDim(): number {
    return this.config.embed_dim;
  }
  get numLayers(): number {
    return this.config.depth;
  }
  private get grid(): [number, number] {
    return [this.config.target_length / this.config.patch_size, this.config.num_mel_bins / this.config.patch_size];
  }
  get numTokens(): number {
    const [gh, gw] = this.grid;
    return 1 + gh * gw;
  }

  paramSpecs(): ParamSpec[] {
    const c = this.config;
    const D = c.embed_dim;
    const p = c.patch_size;
    const F = c.mlp_ratio * D;
    const specs: ParamSpec[] = [];
    const add = (name: string, shape: number[], init: ParamSpec['init']) => specs.push({ name, shape, init });
    // fairseq init_bert_params: normal(0.02) linears, zero biases; the patch conv is xavier-initialised
    const linear = (name: string, out: number, inp: number) => {
      add(`${name}.weight`, [out, inp], { kind: 'normal', std: 0.02 });
      add(`${name}.bias`, [out], { kind: 'zeros' });
    };
    const norm = (name: string) => {
      add(`${name}.weight`, [D], { kind: 'ones' });
      add(`${name}.bias`, [D], { kind: 'zeros' });
    };
    add(`${M}local_encoder.proj.weight`, [D, 1, p, p], { kind: 'xavierUniform' });
    add(`${M}local_encoder.proj.bias`, [D], { kind: 'zeros' });
    add(`${M}extra_tokens`, [1, 1, D], { kind: 'normal', std: 1 });
    norm(`${M}context_encoder.norm`);
    for (let i = 0; i < c.depth; i++) {
      const b = `blocks.${i}.`;
      linear(`${b}attn.qkv`, 3 * D, D);
      linear(`${b}attn.proj`, D, D);
      norm(`${b}norm1`);
      norm(`${b}norm2`);
      linear(`${b}mlp.fc1`, F, D);
      linear(`${b}mlp.fc2`, D, F);
    }
    return specs;
  }

  loadWeights(tensors: ReadonlyMap<string, WeightRecord>, meta: { source?: string } = {}): LoadedWeights {
    const source = meta.source ?? 'EAT checkpoint';
    const loaded = loadHfWeights(this.paramSpecs(), tensors, source, ['model.']);
    // the fixed positions are stored as a frozen parameter; we compute them, so only check they agree
    const prefix = tensors.has(`model.${M}local_encoder.proj.weight`) ? 'model.' : '';
    const name = `${prefix}${M}fixed_positional_encoder.positions`;
    const stored = tensors.get(name);
    if (stored !== undefined) {
      const [gh, gw] = this.grid;
      const want = eatPositions(this.config.embed_dim, gh, gw);
      const got = stored.data as ArrayLike<number>;
      let diff = 0;
      for (let i = 0; i < want.length && i < got.length; i++) diff = Math.max(diff, Math.abs(want[i]! - Number(got[i])));
      if (got.length !== want.length || diff > 1e-4) {
        throw new BackboneConfigError(`${source}: '${name}' is not the 2-D sin-cos table of a ${gh} x ${gw} grid (max diff ${diff}); the checkpoint does not match this config`);
      }
      return { weights: loaded.weights, unused: loaded.unused.filter((k) => k !== name) };
    }
    return loaded;
  }

  forward<T>(ops: Ops<T>, input: T, options: ForwardOptions<T>): T {
    const c = this.config;
    const tap = options.tap ?? (() => undefined);
    const training = options.training;
    const D = c.embed_dim;
    const p = c.patch_size;
    const [gh, gw] = this.grid;

    // non-overlapping patches: Conv2d(1, D, p, stride p) on [frames, mel] is a reshape + matMul
    let x = fitFrames(ops, input, c.target_length, c.num_mel_bins, this.padValue, options.paddingMask);
    x = ops.transpose(ops.reshape(x, [0, gh, p, gw, p]), [0, 1, 3, 2, 4]); // [B, gh, gw, kt, kf]
    x = ops.reshape(x, [0, gh * gw, p * p]);
    x = ops.linear(x, ops.reshape(ops.param(`${M}local_encoder.proj.weight`), [D, p * p]), ops.param(`${M}local_encoder.proj.bias`));
    tap('patch_embed', x);
    x = ops.add(x, ops.constant(eatPositions(D, gh, gw), [1, gh * gw, D]));
    const zeros = ops.mul(ops.slice(x, 1, 0, 1), ops.scalar(0));
    x = ops.concat([ops.add(zeros, ops.param(`${M}extra_tokens`)), x], 1);
    x = ops.layerNorm(x, ops.param(`${M}context_encoder.norm.weight`), ops.param(`${M}context_encoder.norm.bias`), c.norm_eps);
    tap('embeddings', x);
    for (let i = 0; i < c.depth; i++) {
      const rate = training && c.depth > 1 ? (c.end_drop_path_rate * i) / (c.depth - 1) : 0;
      const xi = x;
      // one block's intermediates alive at a time (block 0's attention output is tapped, so not scoped away)
      x = i === 0 && options.tap ? this.block(ops, i, xi, zeros, training, rate, tap) : ops.scope(() => this.block(ops, i, xi, zeros, training, rate));
      tap(`layer_${i}`, x);
    }
    tap('final', x);
    return x;
  }

  /** data2vec 2.0 AltBlock with layer_norm_first=False: post-LN, fused qkv. */
  private block<T>(ops: Ops<T>, i: number, x: T, zeros: T, training: boolean, dropPath: number, tap?: (name: string, v: T) => void): T {
    const c = this.config;
    const b = `blocks.${i}.`;
    const H = c.num_heads;
    const D = c.embed_dim;
    const hd = D / H;
    const lin = (name: string, v: T) => ops.linear(v, ops.param(`${b}${name}.weight`), ops.param(`${b}${name}.bias`));
    const ln = (name: string, v: T) => ops.layerNorm(v, ops.param(`${b}${name}.weight`), ops.param(`${b}${name}.bias`), c.norm_eps);
    const drop = (v: T) => (dropPath > 0 ? ops.mul(v, ops.dropout(ops.add(ops.slice(zeros, 2, 0, 1), ops.scalar(1)), dropPath)) : v);

    // qkv.reshape(B, N, 3, H, hd): channel j * D + h * hd + d, so q, k, v are consecutive D-wide slices
    const qkv = lin('attn.qkv', x);
    const heads = (j: number) => ops.transpose(ops.reshape(ops.slice(qkv, 2, j * D, (j + 1) * D), [0, 0, H, hd]), [0, 2, 1, 3]);
    const q = ops.mul(heads(0), ops.scalar(Math.pow(hd, -0.5)));
    let probs = ops.softmax(ops.matMul(q, heads(1), { transposeB: true }), -1);
    if (training) probs = ops.dropout(probs, c.attention_dropout);
    const ctx = ops.reshape(ops.transpose(ops.matMul(probs, heads(2)), [0, 2, 1, 3]), [0, 0, D]);
    let a = lin('attn.proj', ctx);
    tap?.('layer0_attention', a);
    if (training) a = ops.dropout(a, c.encoder_dropout);
    const r = ln('norm1', ops.add(x, drop(a)));
    let m = ops.gelu(lin('mlp.fc1', r));
    if (training) m = ops.dropout(m, c.activation_dropout);
    m = lin('mlp.fc2', m);
    // timm's Mlp drops after fc2 as well, then the block's post_mlp_dropout
    if (training) m = ops.dropout(ops.dropout(m, c.activation_dropout), c.post_mlp_drop);
    return ln('norm2', ops.add(r, drop(m)));
  }
}
