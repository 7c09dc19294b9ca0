import type { Ops, ParamSpec, TensorData } from '@anopatch/runtime';

import { weightAsFloat32, type Backbone, type ForwardOptions, type LoadedWeights, type WeightRecord } from '../backbone.js';
import { BEATS_ITER3_CONFIG, type BeatsConfig } from './config.js';

/** Kaldi fbank mel bins BEATs is trained on. */
export const BEATS_MEL_BINS = 128;
/** torch.nn.LayerNorm's default eps, used by every BEATs LayerNorm. */
const LN_EPS = 1e-5;
/** BEATs' attention computes (q/alpha) k^T, subtracts the row max and scales back by alpha, for fp16 range. */
const ATTN_ALPHA = 32;
/** Additive score for padded keys: softmax gives them exactly 0 without the NaNs -inf can make. */
const MASKED_SCORE = -1e9;

/**
 * T5-style bidirectional relative position buckets for |j - i| = 0 .. maxDistance (larger distances
 * all fall in the last bucket), before the +num_buckets/2 offset for keys after the query. float64
 * log gives the same buckets as torch's float32 log for every distance below 5000.
 */
export function beatsDistanceBuckets(numBuckets: number, maxDistance: number): Int32Array {
  const half = Math.floor(numBuckets / 2);
  const maxExact = Math.floor(half / 2);
  const table = new Int32Array(maxDistance + 1);
  for (let r = 0; r <= maxDistance; r++) {
    if (r < maxExact) table[r] = r;
    else table[r] = Math.min(half - 1, maxExact + Math.trunc((Math.log(r / maxExact) / Math.log(maxDistance / maxExact)) * (half - maxExact)));
  }
  return table;
}

/** Bucket index [P, P] for query i and key j (what the official _relative_positions_bucket returns). */
export function beatsRelativeBuckets(length: number, numBuckets: number, maxDistance: number): Int32Array {
  const table = beatsDistanceBuckets(numBuckets, maxDistance);
  const half = Math.floor(numBuckets / 2);
  const out = new Int32Array(length * length);
  for (let i = 0; i < length; i++)
    for (let j = 0; j < length; j++) out[i * length + j] = table[Math.min(Math.abs(j - i), maxDistance)]! + (j > i ? half : 0);
  return out;
}

/**
 * BEATs (Chen et al. 2022; microsoft/unilm beats/), numerically the official model: patch embedding,
 * LayerNorm, post_extract_proj, convolutional relative position embedding, post-LN (deep_norm)
 * transformer layers with gated relative position bias. Input: normalised fbank [B, frames, 128].
 * Parameter names are the official state-dict names.
 */
export class BeatsBackbone implements Backbone {
  readonly id = 'beats';
  readonly frontEnd = 'fbank' as const;
  readonly hasClsToken = false;
  readonly fbankPreset = 'beats';
  readonly config: Readonly<BeatsConfig>;

  constructor(config: Readonly<BeatsConfig> = BEATS_ITER3_CONFIG) {
    this.config = config;
  }

  get tokenDim(): number {
    return this.config.encoder_embed_dim;
  }
  get numLayers(): number {
    return this.config.encoder_layers;
  }
  /** Patches per time step: the mel axis is cut into this many patches. */
  get freqPatches(): number {
    return BEATS_MEL_BINS / this.config.input_patch_size;
  }

  paramSpecs(): ParamSpec[] {
    const c = this.config;
    const E = c.embed_dim;
    const D = c.encoder_embed_dim;
    const F = c.encoder_ffn_embed_dim;
    const H = c.encoder_attention_heads;
    const p = c.input_patch_size;
    const specs: ParamSpec[] = [];
    const add = (name: string, shape: number[], init: ParamSpec['init']) => specs.push({ name, shape, init });
    const linear = (name: string, out: number, inp: number, gain = 1) => {
      add(`${name}.weight`, [out, inp], { kind: 'xavierUniform', gain });
      add(`${name}.bias`, [out], { kind: 'zeros' });
    };
    const norm = (name: string, dim: number) => {
      add(`${name}.weight`, [dim], { kind: 'ones' });
      add(`${name}.bias`, [dim], { kind: 'zeros' });
    };
    add('patch_embedding.weight', [E, 1, p, p], { kind: 'xavierUniform' });
    if (c.conv_bias) add('patch_embedding.bias', [E], { kind: 'zeros' });
    norm('layer_norm', E);
    if (E !== D) linear('post_extract_proj', D, E);
    // weight_norm starts with g = ||v|| per tap; for v ~ N(0, std^2) that is std * sqrt(D * D / groups)
    const posStd = Math.sqrt(4 / (c.conv_pos * D));
    add('encoder.pos_conv.0.weight_g', [1, 1, c.conv_pos], { kind: 'constant', value: posStd * Math.sqrt((D * D) / c.conv_pos_groups) });
    add('encoder.pos_conv.0.weight_v', [D, D / c.conv_pos_groups, c.conv_pos], { kind: 'normal', std: posStd });
    add('encoder.pos_conv.0.bias', [D], { kind: 'zeros' });
    norm('encoder.layer_norm', D);
    // fairseq's deep_norm init: beta = (8 N)^(-1/4) on v, out, fc1, fc2
    const beta = c.deep_norm ? Math.pow(8 * c.encoder_layers, -0.25) : 1;
    for (let i = 0; i < c.encoder_layers; i++) {
      const l = `encoder.layers.${i}`;
      linear(`${l}.self_attn.k_proj`, D, D);
      linear(`${l}.self_attn.v_proj`, D, D, beta);
      linear(`${l}.self_attn.q_proj`, D, D);
      linear(`${l}.self_attn.out_proj`, D, D, beta);
      if (c.relative_position_embedding && i === 0) add(`${l}.self_attn.relative_attention_bias.weight`, [c.num_buckets, H], { kind: 'normal', std: Math.sqrt(2 / (c.num_buckets + H)) });
      if (c.gru_rel_pos) {
        linear(`${l}.self_attn.grep_linear`, 8, D / H);
        add(`${l}.self_attn.grep_a`, [1, H, 1, 1], { kind: 'ones' });
      }
      norm(`${l}.self_attn_layer_norm`, D);
      linear(`${l}.fc1`, F, D, beta);
      linear(`${l}.fc2`, D, F, beta);
      norm(`${l}.final_layer_norm`, D);
    }
    return specs;
  }

  loadWeights(tensors: ReadonlyMap<string, WeightRecord>, meta: { source?: string } = {}): LoadedWeights {
    const source = meta.source ?? 'BEATs checkpoint';
    const weights = new Map<string, TensorData>();
    const used = new Set<string>();
    for (const spec of this.paramSpecs()) {
      weights.set(spec.name, weightAsFloat32(spec.name, tensors.get(spec.name), spec.shape, source));
      used.add(spec.name);
    }
    // one relative_attention_bias is shared by all layers; the state dict lists it under each of them
    if (this.config.relative_position_embedding) {
      for (let i = 1; i < this.config.encoder_layers; i++) {
        const alias = `encoder.layers.${i}.self_attn.relative_attention_bias.weight`;
        if (tensors.has(alias)) used.add(alias);
      }
    }
    const unused = [...tensors.keys()].filter((k) => !used.has(k)).sort();
    return { weights, unused };
  }

  forward<T>(ops: Ops<T>, input: T, options: ForwardOptions<T>): T {
    const c = this.config;
    const tap = options.tap ?? (() => undefined);
    const training = options.training;
    const p = c.input_patch_size;
    const fp = this.freqPatches;
    const D = c.encoder_embed_dim;

    // patch embedding: Conv2d(1, E, p, stride p) on [frames, mel] is exactly a matMul over p x p patches;
    // trailing frames that do not fill a patch are dropped, as the strided conv does
    let x = ops.truncateToMultiple(input, 1, p);
    x = ops.reshape(x, [0, -1, p, fp, p]); // [B, Tp, kt, Fp, kf]
    x = ops.transpose(x, [0, 1, 3, 2, 4]); // [B, Tp, Fp, kt, kf]: patch index = tp * Fp + fp
    x = ops.reshape(x, [0, -1, p * p]);
    const pw = ops.reshape(ops.param('patch_embedding.weight'), [c.embed_dim, p * p]);
    x = ops.linear(x, pw, c.conv_bias ? ops.param('patch_embedding.bias') : undefined);
    tap('patch_embed', x);
    x = ops.layerNorm(x, ops.param('layer_norm.weight'), ops.param('layer_norm.bias'), LN_EPS);
    tap('patch_ln', x);
    if (c.embed_dim !== D) x = ops.linear(x, ops.param('post_extract_proj.weight'), ops.param('post_extract_proj.bias'));
    tap('post_proj', x);
    if (training) x = ops.dropout(x, c.dropout_input);

    // padding: a patch is padding when any of its frames is, so valid patches are exactly those of the clip alone
    let keep: T | undefined;
    let keyBias: T | undefined;
    if (options.paddingMask !== undefined) {
      let m = ops.truncateToMultiple(options.paddingMask, 1, p);
      m = ops.max(ops.reshape(m, [0, -1, p]), -1); // [B, Tp]
      m = ops.reshape(ops.mul(ops.reshape(m, [0, -1, 1]), ops.constant(new Float32Array(fp).fill(1), [1, 1, fp])), [0, -1]); // [B, P]
      keep = ops.sub(ops.scalar(1), m);
      keyBias = ops.reshape(ops.mul(m, ops.scalar(MASKED_SCORE)), [0, 1, 1, -1]); // [B, 1, 1, P]
      x = ops.mul(x, ops.reshape(keep, [0, -1, 1]));
    }

    const x0 = x;
    x = ops.scope(() => ops.add(x0, this.posConv(ops, x0)));
    tap('pos_conv', x);
    if (!c.layer_norm_first) x = ops.layerNorm(x, ops.param('encoder.layer_norm.weight'), ops.param('encoder.layer_norm.bias'), LN_EPS);
    tap('enc_ln', x);
    if (training) x = ops.dropout(x, c.dropout);

    let posBias: T | undefined;
    const random = options.random ?? Math.random;
    for (let i = 0; i < c.encoder_layers; i++) {
      x = ops.gradScale(x, c.layer_wise_gradient_decay_ratio);
      // layer drop as fairseq does it: the draw happens for every layer, in training only it skips
      const drop = random();
      if (!training || drop > c.encoder_layerdrop) {
        const xi = x;
        if (c.relative_position_embedding && posBias === undefined) posBias = ops.scope(() => this.relativeBias(ops, xi));
        const bias = posBias;
        // one layer's intermediates alive at a time (layer 0's attention output is tapped, so not scoped away)
        x = i === 0 && options.tap ? this.layer(ops, i, xi, bias, keyBias, training, tap) : ops.scope(() => this.layer(ops, i, xi, bias, keyBias, training));
      }
      tap(`layer_${i}`, x);
    }
    if (c.layer_norm_first) x = ops.layerNorm(x, ops.param('encoder.layer_norm.weight'), ops.param('encoder.layer_norm.bias'), LN_EPS);
    tap('final', x);
    return x;
  }

  /** Weight-normed grouped Conv1d (norm over dims 0, 1 per tap, as weight_norm(dim=2) stores it), SamePad, GELU. */
  private posConv<T>(ops: Ops<T>, x: T): T {
    const c = this.config;
    const v = ops.param('encoder.pos_conv.0.weight_v');
    const norm = ops.sqrt(ops.sum(ops.mul(v, v), [0, 1], true));
    const w = ops.mul(ops.param('encoder.pos_conv.0.weight_g'), ops.div(v, norm));
    let y = ops.conv1d(x, w, { groups: c.conv_pos_groups, padding: Math.floor(c.conv_pos / 2), bias: ops.param('encoder.pos_conv.0.bias') });
    // SamePad: an even kernel with padding K/2 yields one frame too many
    if (c.conv_pos % 2 === 0) y = ops.slice(y, 1, 0, -1);
    return ops.gelu(y);
  }

  /** Ungated relative position bias [H, P, P], computed once and shared by every layer. */
  private relativeBias<T>(ops: Ops<T>, x: T): T {
    const c = this.config;
    const half = Math.floor(c.num_buckets / 2);
    const table = ops.constant(beatsDistanceBuckets(c.num_buckets, c.max_distance), [c.max_distance + 1], 'int32');
    const pos = ops.range(x, 1); // [P]
    const rel = ops.sub(ops.reshape(pos, [1, -1]), ops.reshape(pos, [-1, 1])); // key - query, [P, P]
    const dist = ops.minimum(ops.abs(rel), ops.scalar(c.max_distance, 'int32'));
    const after = ops.mul(ops.cast(ops.greater(rel, ops.scalar(0, 'int32')), 'int32'), ops.scalar(half, 'int32'));
    const bucket = ops.add(ops.gather(table, dist, 0), after);
    const values = ops.gather(ops.param('encoder.layers.0.self_attn.relative_attention_bias.weight'), bucket, 0); // [P, P, H]
    return ops.transpose(values, [2, 0, 1]); // [H, P, P], broadcasts against [B, H, P, P]
  }

  private layer<T>(ops: Ops<T>, i: number, x: T, posBias: T | undefined, keyBias: T | undefined, training: boolean, tap?: (name: string, v: T) => void): T {
    const c = this.config;
    const l = `encoder.layers.${i}`;
    const alpha = c.deep_norm ? Math.pow(2 * c.encoder_layers, 0.25) : 1;
    const ln = (name: string, v: T) => ops.layerNorm(v, ops.param(`${l}.${name}.weight`), ops.param(`${l}.${name}.bias`), LN_EPS);
    const ffn = (v: T) => {
      const lin = (name: string, u: T) => ops.linear(u, ops.param(`${l}.${name}.weight`), ops.param(`${l}.${name}.bias`));
      let h = lin('fc1', v);
      h = c.activation_fn === 'gelu' ? ops.gelu(h) : ops.relu(h);
      if (training) h = ops.dropout(h, c.activation_dropout);
      h = lin('fc2', h);
      return training ? ops.dropout(h, c.dropout) : h;
    };
    const scaled = (v: T) => (alpha === 1 ? v : ops.mul(v, ops.scalar(alpha)));
    if (c.layer_norm_first) {
      let h = this.attention(ops, i, ln('self_attn_layer_norm', x), posBias, keyBias, training);
      if (training) h = ops.dropout(h, c.dropout);
      const x1 = ops.add(x, h);
      tap?.('layer0_self_attn', h);
      return ops.add(x1, ffn(ln('final_layer_norm', x1)));
    }
    let h = this.attention(ops, i, x, posBias, keyBias, training);
    tap?.('layer0_self_attn', h);
    if (training) h = ops.dropout(h, c.dropout);
    const x1 = ln('self_attn_layer_norm', ops.add(scaled(x), h));
    return ln('final_layer_norm', ops.add(scaled(x1), ffn(x1)));
  }

  private attention<T>(ops: Ops<T>, i: number, x: T, posBias: T | undefined, keyBias: T | undefined, training: boolean): T {
    const c = this.config;
    const a = `encoder.layers.${i}.self_attn`;
    const H = c.encoder_attention_heads;
    const hd = c.encoder_embed_dim / H;
    const proj = (name: string) => ops.linear(x, ops.param(`${a}.${name}.weight`), ops.param(`${a}.${name}.bias`));
    const heads = (v: T) => ops.transpose(ops.reshape(v, [0, 0, H, hd]), [0, 2, 1, 3]); // [B, H, P, hd]
    const q = heads(proj('q_proj'));
    const k = heads(proj('k_proj'));
    const v = heads(proj('v_proj'));
    // only the probabilities leave this scope: the [B, H, P, P] temporaries before them are freed
    let probs = ops.scope(() => {
      const qs = ops.mul(q, ops.scalar(Math.pow(hd, -0.5) / ATTN_ALPHA));
      let scores = ops.matMul(qs, k, { transposeB: true }); // [B, H, P, P]
      scores = ops.mul(ops.sub(scores, ops.max(scores, -1, true)), ops.scalar(ATTN_ALPHA));
      if (keyBias !== undefined) scores = ops.add(scores, keyBias);
      if (posBias !== undefined) {
        let bias: T = posBias;
        if (c.gru_rel_pos) {
          // gate from the unscaled per-head query: sigmoid of grep_linear summed in groups of 4 -> (a, b)
          const g = ops.linear(q, ops.param(`${a}.grep_linear.weight`), ops.param(`${a}.grep_linear.bias`)); // [B, H, P, 8]
          const gates = ops.sigmoid(ops.sum(ops.reshape(g, [0, 0, 0, 2, 4]), -1)); // [B, H, P, 2]
          const gateA = ops.slice(gates, 3, 0, 1);
          const gateB = ops.slice(gates, 3, 1, 2);
          const gate = ops.add(ops.mul(gateA, ops.sub(ops.mul(gateB, ops.param(`${a}.grep_a`)), ops.scalar(1))), ops.scalar(2));
          bias = ops.mul(gate, posBias);
        }
        scores = ops.add(scores, bias);
      }
      return ops.softmax(scores, -1);
    });
    if (training) probs = ops.dropout(probs, c.attention_dropout);
    const out = ops.reshape(ops.transpose(ops.matMul(probs, v), [0, 2, 1, 3]), [0, 0, c.encoder_embed_dim]);
    return ops.linear(out, ops.param(`${a}.out_proj.weight`), ops.param(`${a}.out_proj.bias`));
  }
}
