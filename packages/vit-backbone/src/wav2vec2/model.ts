import type { Ops, ParamSpec } from '@anopatch/runtime';

import { BackboneConfigError, type Backbone, type ForwardOptions, type LoadedWeights, type WeightRecord } from '../backbone.js';
import { beatsDistanceBuckets } from '../beats/model.js';
import { loadHfWeights, readHfConfig, stridedConv1d, unfold, type HfField } from '../common/hf.js';

/** The fields of Hugging Face's Wav2Vec2Config / HubertConfig / UniSpeechConfig the encoder reads. */
export interface Wav2Vec2Config {
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: string;
  hidden_dropout: number;
  activation_dropout: number;
  attention_dropout: number;
  feat_proj_dropout: number;
  layerdrop: number;
  layer_norm_eps: number;
  feat_extract_norm: string;
  feat_extract_activation: string;
  conv_dim: number[];
  conv_stride: number[];
  conv_kernel: number[];
  conv_bias: boolean;
  num_conv_pos_embeddings: number;
  num_conv_pos_embedding_groups: number;
  do_stable_layer_norm: boolean;
  /** HubertConfig only: LayerNorm before the feature projection (Wav2Vec2 always has it). */
  feat_proj_layer_norm: boolean;
  /** HubertConfig only: BatchNorm before the positional conv (not supported). */
  conv_pos_batch_norm: boolean;
  /** Wav2Vec2Config: the fine-tuning adapter after the encoder (not supported). */
  add_adapter: boolean;
  /** WavLMConfig only: relative position buckets and the distance the last bucket starts at. */
  num_buckets: number;
  max_bucket_distance: number;
}

/** Wav2Vec2Config's defaults (facebook/wav2vec2-base); HubertConfig and UniSpeechConfig share them. */
const FIELDS: { [K in keyof Wav2Vec2Config]: HfField } = {
  hidden_size: { kind: 'int', default: 768 },
  num_hidden_layers: { kind: 'int', default: 12 },
  num_attention_heads: { kind: 'int', default: 12 },
  intermediate_size: { kind: 'int', default: 3072 },
  hidden_act: { kind: 'string', default: 'gelu' },
  hidden_dropout: { kind: 'number', default: 0.1 },
  activation_dropout: { kind: 'number', default: 0.1 },
  attention_dropout: { kind: 'number', default: 0.1 },
  feat_proj_dropout: { kind: 'number', default: 0.0 },
  layerdrop: { kind: 'number', default: 0.1 },
  layer_norm_eps: { kind: 'number', default: 1e-5 },
  feat_extract_norm: { kind: 'string', default: 'group' },
  feat_extract_activation: { kind: 'string', default: 'gelu' },
  conv_dim: { kind: 'intArray', default: [512, 512, 512, 512, 512, 512, 512] },
  conv_stride: { kind: 'intArray', default: [5, 2, 2, 2, 2, 2, 2] },
  conv_kernel: { kind: 'intArray', default: [10, 3, 3, 3, 3, 2, 2] },
  conv_bias: { kind: 'bool', default: false },
  num_conv_pos_embeddings: { kind: 'int', default: 128 },
  num_conv_pos_embedding_groups: { kind: 'int', default: 16 },
  do_stable_layer_norm: { kind: 'bool', default: false },
  feat_proj_layer_norm: { kind: 'bool', default: true },
  conv_pos_batch_norm: { kind: 'bool', default: false },
  add_adapter: { kind: 'bool', default: false },
  num_buckets: { kind: 'int', default: 320 },
  max_bucket_distance: { kind: 'int', default: 800 },
};

/** The 'large' variants of Table 3 (wav2vec2-large-lv60, hubert-large-ll60k, unispeech-large): 24 x 1024, pre-LN, layer-normed convs. */
export const WAV2VEC2_LARGE_CONFIG: Readonly<Partial<Wav2Vec2Config>> = Object.freeze({
  hidden_size: 1024,
  num_hidden_layers: 24,
  num_attention_heads: 16,
  intermediate_size: 4096,
  feat_extract_norm: 'layer',
  conv_bias: true,
  do_stable_layer_norm: true,
});

/** Read a wav2vec 2.0 / HuBERT / UniSpeech config.json (absent fields take the HF class defaults). */
export function parseWav2Vec2Config(raw: unknown, source = 'wav2vec2 config'): Wav2Vec2Config {
  const c = readHfConfig<Wav2Vec2Config>(raw, FIELDS, source);
  const problems: string[] = [];
  if (c.hidden_act !== 'gelu' || c.feat_extract_activation !== 'gelu') problems.push(`activations '${c.hidden_act}' / '${c.feat_extract_activation}' are not supported (only 'gelu')`);
  if (c.feat_extract_norm !== 'group' && c.feat_extract_norm !== 'layer') problems.push(`feat_extract_norm '${c.feat_extract_norm}' must be 'group' or 'layer'`);
  if (c.conv_dim.length !== c.conv_kernel.length || c.conv_dim.length !== c.conv_stride.length || c.conv_dim.length === 0) problems.push('conv_dim, conv_kernel and conv_stride must be non-empty and of one length');
  if ([...c.conv_dim, ...c.conv_kernel, ...c.conv_stride].some((v) => v <= 0)) problems.push('conv_dim, conv_kernel and conv_stride must be positive');
  if (c.hidden_size % c.num_attention_heads !== 0) problems.push(`hidden_size ${c.hidden_size} is not a multiple of num_attention_heads ${c.num_attention_heads}`);
  if (c.hidden_size % c.num_conv_pos_embedding_groups !== 0) problems.push(`hidden_size ${c.hidden_size} is not a multiple of num_conv_pos_embedding_groups ${c.num_conv_pos_embedding_groups}`);
  if (c.conv_pos_batch_norm) problems.push('conv_pos_batch_norm is not supported');
  if (c.add_adapter) problems.push('add_adapter is not supported');
  if (c.num_buckets < 4 || c.max_bucket_distance <= Math.floor(c.num_buckets / 4)) problems.push(`num_buckets ${c.num_buckets} / max_bucket_distance ${c.max_bucket_distance} are not a valid bucketing`);
  if (problems.length) throw new BackboneConfigError(`${source}: ${problems.join('; ')}`);
  return c;
}

/** GroupNorm / nn.LayerNorm default eps of the conv feature extractor (HF does not pass config.layer_norm_eps there). */
const CONV_NORM_EPS = 1e-5;
/** Additive score for padded keys: softmax gives them exactly 0 without the NaNs -inf can make. */
const MASKED_SCORE = -1e9;

/** Which Hugging Face model a Wav2Vec2Backbone reads: the id and the prefix its task/pre-training checkpoints use. */
export type Wav2Vec2Family = 'wav2vec2' | 'hubert' | 'unispeech' | 'wavlm';
const PREFIXES: Record<Wav2Vec2Family, string[]> = {
  wav2vec2: ['wav2vec2.'],
  wavlm: ['wavlm.'],
  hubert: ['hubert.'],
  unispeech: ['unispeech.'],
};

/**
 * wav2vec 2.0 (Baevski et al. 2020), HuBERT (Hsu et al. 2021), UniSpeech (Wang et al. 2021) and WavLM
 * (Chen et al. 2022): one encoder, numerically Hugging Face's Wav2Vec2Model / HubertModel /
 * UniSpeechModel / WavLMModel in eval mode. WavLM adds a gated relative position bias: T5 buckets
 * looked up in layer 0's rel_attn_embed, shared by all layers, gated per head and query. Input
 * the 16 kHz waveform [B, samples]; tokens [B, frames, hidden_size] at 50 Hz, no [CLS].
 *
 * Strided convolutions are unfold + matMul (weight gradients need no conv backprop kernel). With a
 * padding mask, a frame is padding when any sample of its receptive field is; padded frames are
 * left out of layer 0's GroupNorm statistics ('group' variants), zeroed before the positional conv
 * and masked as attention keys, so each clip of a padded batch gets the tokens it gets alone.
 * HF's training-time time masking (masked_spec_embed, mask_time_prob) is not applied: that tensor
 * is reported unused.
 */
export class Wav2Vec2Backbone implements Backbone {
  readonly frontEnd = 'waveform' as const;
  readonly hasClsToken = false;
  readonly fbankPreset = null;
  readonly id: Wav2Vec2Family;
  readonly config: Readonly<Wav2Vec2Config>;

  constructor(id: Wav2Vec2Family, config: Readonly<Wav2Vec2Config>) {
    this.id = id;
    this.config = config;
  }

  get tokenDim(): number {
    return this.config.hidden_size;
  }
  get numLayers(): number {
    return this.config.num_hidden_layers;
  }
  /** Frames the feature extractor makes of `samples` samples (HF's _get_feat_extract_output_lengths). */
  framesFor(samples: number): number {
    let n = samples;
    this.config.conv_kernel.forEach((k, i) => (n = Math.max(0, Math.floor((n - k) / this.config.conv_stride[i]!) + 1)));
    return n;
  }

  paramSpecs(): ParamSpec[] {
    const c = this.config;
    const D = c.hidden_size;
    const specs: ParamSpec[] = [];
    const add = (name: string, shape: number[], init: ParamSpec['init']) => specs.push({ name, shape, init });
    const norm = (name: string, dim: number) => {
      add(`${name}.weight`, [dim], { kind: 'ones' });
      add(`${name}.bias`, [dim], { kind: 'zeros' });
    };
    const linear = (name: string, out: number, inp: number) => {
      add(`${name}.weight`, [out, inp], { kind: 'normal', std: 0.02 });
      add(`${name}.bias`, [out], { kind: 'zeros' });
    };
    let cin = 1;
    c.conv_dim.forEach((cout, i) => {
      const p = `feature_extractor.conv_layers.${i}`;
      // HF: kaiming_normal_ on conv weights
      add(`${p}.conv.weight`, [cout, cin, c.conv_kernel[i]!], { kind: 'normal', std: Math.sqrt(2 / (cin * c.conv_kernel[i]!)) });
      if (c.conv_bias) add(`${p}.conv.bias`, [cout], { kind: 'zeros' });
      if (c.feat_extract_norm === 'layer' || i === 0) norm(`${p}.layer_norm`, cout);
      cin = cout;
    });
    if (c.feat_proj_layer_norm) norm('feature_projection.layer_norm', cin);
    linear('feature_projection.projection', D, cin);
    const K = c.num_conv_pos_embeddings;
    const G = c.num_conv_pos_embedding_groups;
    const posStd = Math.sqrt(2 / (K * (D / G)));
    add('encoder.pos_conv_embed.conv.weight_g', [1, 1, K], { kind: 'constant', value: posStd * Math.sqrt((D * D) / G) });
    add('encoder.pos_conv_embed.conv.weight_v', [D, D / G, K], { kind: 'normal', std: posStd });
    add('encoder.pos_conv_embed.conv.bias', [D], { kind: 'zeros' });
    norm('encoder.layer_norm', D);
    for (let i = 0; i < c.num_hidden_layers; i++) {
      const l = `encoder.layers.${i}`;
      for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) linear(`${l}.attention.${proj}`, D, D);
      if (this.id === 'wavlm') {
        const H = c.num_attention_heads;
        if (i === 0) add(`${l}.attention.rel_attn_embed.weight`, [c.num_buckets, H], { kind: 'normal', std: 1 });
        add(`${l}.attention.gru_rel_pos_const`, [1, H, 1, 1], { kind: 'ones' });
        linear(`${l}.attention.gru_rel_pos_linear`, 8, D / H);
      }
      norm(`${l}.layer_norm`, D);
      linear(`${l}.feed_forward.intermediate_dense`, c.intermediate_size, D);
      linear(`${l}.feed_forward.output_dense`, D, c.intermediate_size);
      norm(`${l}.final_layer_norm`, D);
    }
    return specs;
  }

  loadWeights(tensors: ReadonlyMap<string, WeightRecord>, meta: { source?: string } = {}): LoadedWeights {
    // transformers >= 4.34 saves weight_norm through torch parametrizations
    const alternatives = new Map([
      ['encoder.pos_conv_embed.conv.weight_g', ['encoder.pos_conv_embed.conv.parametrizations.weight.original0']],
      ['encoder.pos_conv_embed.conv.weight_v', ['encoder.pos_conv_embed.conv.parametrizations.weight.original1']],
    ]);
    return loadHfWeights(this.paramSpecs(), tensors, meta.source ?? `${this.id} checkpoint`, PREFIXES[this.id], alternatives);
  }

  forward<T>(ops: Ops<T>, input: T, options: ForwardOptions<T>): T {
    const c = this.config;
    const tap = options.tap ?? (() => undefined);
    const training = options.training;

    let x = ops.reshape(input, [0, -1, 1]); // [B, S, 1]
    let pad = options.paddingMask !== undefined ? ops.reshape(options.paddingMask, [0, -1, 1]) : undefined;
    let cin = 1;
    c.conv_dim.forEach((cout, i) => {
      const k = c.conv_kernel[i]!;
      const s = c.conv_stride[i]!;
      const p = `feature_extractor.conv_layers.${i}`;
      x = stridedConv1d(ops, x, ops.param(`${p}.conv.weight`), k, s, cin, c.conv_bias ? ops.param(`${p}.conv.bias`) : undefined);
      // a frame is padding when any sample of its window is
      if (pad !== undefined) pad = ops.max(ops.reshape(unfold(ops, pad, k, s, 1), [0, -1, k]), -1, true);
      if (c.feat_extract_norm === 'layer') x = ops.layerNorm(x, ops.param(`${p}.layer_norm.weight`), ops.param(`${p}.layer_norm.bias`), CONV_NORM_EPS);
      else if (i === 0) x = this.groupNorm(ops, x, pad, `${p}.layer_norm`);
      x = ops.gelu(x);
      tap(`conv_${i}`, x);
      cin = cout;
    });
    tap('extract_features', x);

    if (c.feat_proj_layer_norm) x = ops.layerNorm(x, ops.param('feature_projection.layer_norm.weight'), ops.param('feature_projection.layer_norm.bias'), c.layer_norm_eps);
    x = ops.linear(x, ops.param('feature_projection.projection.weight'), ops.param('feature_projection.projection.bias'));
    tap('feature_projection', x);
    if (training) x = ops.dropout(x, c.feat_proj_dropout);

    let keyBias: T | undefined;
    if (pad !== undefined) {
      x = ops.mul(x, ops.sub(ops.scalar(1), pad));
      keyBias = ops.reshape(ops.mul(pad, ops.scalar(MASKED_SCORE)), [0, 1, 1, -1]); // [B, 1, 1, P]
    }
    x = ops.add(x, this.posConv(ops, x));
    const encLn = (v: T) => ops.layerNorm(v, ops.param('encoder.layer_norm.weight'), ops.param('encoder.layer_norm.bias'), c.layer_norm_eps);
    if (!c.do_stable_layer_norm) x = encLn(x);
    tap('encoder_input', x);
    if (training) x = ops.dropout(x, c.hidden_dropout);

    const posBias = this.id === 'wavlm' ? this.relativeBias(ops, x) : undefined;
    const random = options.random ?? Math.random;
    for (let i = 0; i < c.num_hidden_layers; i++) {
      // HF draws for every layer and skips in training only (WavLM never skips layer 0)
      const drop = random();
      if (!training || drop >= c.layerdrop || (this.id === 'wavlm' && i === 0)) {
        const xi = x;
        // one layer's intermediates alive at a time (layer 0's attention output is tapped, so not scoped away)
        x = i === 0 && options.tap ? this.layer(ops, i, xi, keyBias, posBias, training, tap) : ops.scope(() => this.layer(ops, i, xi, keyBias, posBias, training));
      }
      tap(`layer_${i}`, x);
    }
    if (c.do_stable_layer_norm) x = encLn(x);
    tap('final', x);
    return x;
  }

  /** GroupNorm with one group per channel: each channel normalised over the clip's (valid) frames. */
  private groupNorm<T>(ops: Ops<T>, x: T, pad: T | undefined, name: string): T {
    let mean: T;
    let centred: T;
    let variance: T;
    if (pad === undefined) {
      mean = ops.mean(x, 1, true);
      centred = ops.sub(x, mean);
      variance = ops.mean(ops.mul(centred, centred), 1, true);
    } else {
      const keep = ops.sub(ops.scalar(1), pad); // [B, T, 1]
      const count = ops.maximum(ops.sum(keep, 1, true), ops.scalar(1));
      mean = ops.div(ops.sum(ops.mul(x, keep), 1, true), count);
      centred = ops.sub(x, mean);
      const masked = ops.mul(centred, keep);
      variance = ops.div(ops.sum(ops.mul(masked, masked), 1, true), count);
    }
    const y = ops.div(centred, ops.sqrt(ops.add(variance, ops.scalar(CONV_NORM_EPS))));
    return ops.add(ops.mul(y, ops.param(`${name}.weight`)), ops.param(`${name}.bias`));
  }

  /** Weight-normed grouped Conv1d (weight_norm dim=2: norm over dims 0, 1 per tap), SamePad, GELU. */
  private posConv<T>(ops: Ops<T>, x: T): T {
    const c = this.config;
    const K = c.num_conv_pos_embeddings;
    const v = ops.param('encoder.pos_conv_embed.conv.weight_v');
    const norm = ops.sqrt(ops.sum(ops.mul(v, v), [0, 1], true));
    const w = ops.mul(ops.param('encoder.pos_conv_embed.conv.weight_g'), ops.div(v, norm));
    let y = ops.conv1d(x, w, { groups: c.num_conv_pos_embedding_groups, padding: Math.floor(K / 2), bias: ops.param('encoder.pos_conv_embed.conv.bias') });
    if (K % 2 === 0) y = ops.slice(y, 1, 0, -1);
    return ops.gelu(y);
  }

  /** WavLM's ungated relative position bias [H, P, P] (WavLMAttention.compute_bias). */
  private relativeBias<T>(ops: Ops<T>, x: T): T {
    const c = this.config;
    const half = Math.floor(c.num_buckets / 2);
    // HF's bucketing is BEATs' (both from T5); distances past max_bucket_distance all land in the last bucket
    const table = ops.constant(beatsDistanceBuckets(c.num_buckets, c.max_bucket_distance), [c.max_bucket_distance + 1], 'int32');
    const pos = ops.range(x, 1);
    const rel = ops.sub(ops.reshape(pos, [1, -1]), ops.reshape(pos, [-1, 1])); // key - query
    const dist = ops.minimum(ops.abs(rel), ops.scalar(c.max_bucket_distance, 'int32'));
    const after = ops.mul(ops.cast(ops.greater(rel, ops.scalar(0, 'int32')), 'int32'), ops.scalar(half, 'int32'));
    const bucket = ops.add(ops.gather(table, dist, 0), after);
    return ops.transpose(ops.gather(ops.param('encoder.layers.0.attention.rel_attn_embed.weight'), bucket, 0), [2, 0, 1]);
  }

  private layer<T>(ops: Ops<T>, i: number, x: T, keyBias: T | undefined, posBias: T | undefined, training: boolean, tap?: (name: string, v: T) => void): T {
    const c = this.config;
    const l = `encoder.layers.${i}`;
    const ln = (name: string, v: T) => ops.layerNorm(v, ops.param(`${l}.${name}.weight`), ops.param(`${l}.${name}.bias`), c.layer_norm_eps);
    const lin = (name: string, v: T) => ops.linear(v, ops.param(`${l}.${name}.weight`), ops.param(`${l}.${name}.bias`));
    const ff = (v: T) => {
      let h = ops.gelu(lin('feed_forward.intermediate_dense', v));
      if (training) h = ops.dropout(h, c.activation_dropout);
      h = lin('feed_forward.output_dense', h);
      return training ? ops.dropout(h, c.hidden_dropout) : h;
    };
    const attend = (v: T) => {
      let a = this.attention(ops, l, v, keyBias, posBias, training);
      tap?.('layer0_attention', a);
      if (training) a = ops.dropout(a, c.hidden_dropout);
      return a;
    };
    if (c.do_stable_layer_norm) {
      const h = ops.add(x, attend(ln('layer_norm', x)));
      return ops.add(h, ff(ln('final_layer_norm', h)));
    }
    const h = ln('layer_norm', ops.add(x, attend(x)));
    return ln('final_layer_norm', ops.add(h, ff(h)));
  }

  private attention<T>(ops: Ops<T>, l: string, x: T, keyBias: T | undefined, posBias: T | undefined, training: boolean): T {
    const c = this.config;
    const H = c.num_attention_heads;
    const hd = c.hidden_size / H;
    const proj = (name: string) => ops.linear(x, ops.param(`${l}.attention.${name}.weight`), ops.param(`${l}.attention.${name}.bias`));
    const heads = (v: T) => ops.transpose(ops.reshape(v, [0, 0, H, hd]), [0, 2, 1, 3]);
    const q = heads(ops.mul(proj('q_proj'), ops.scalar(Math.pow(hd, -0.5))));
    let scores = ops.matMul(q, heads(proj('k_proj')), { transposeB: true });
    if (keyBias !== undefined) scores = ops.add(scores, keyBias);
    if (posBias !== undefined) {
      // gate from the attention input split into heads (WavLM gates from x, not from q_proj(x))
      const g = ops.linear(heads(x), ops.param(`${l}.attention.gru_rel_pos_linear.weight`), ops.param(`${l}.attention.gru_rel_pos_linear.bias`)); // [B, H, P, 8]
      const gates = ops.sigmoid(ops.sum(ops.reshape(g, [0, 0, 0, 2, 4]), -1));
      const gate = ops.add(ops.mul(ops.slice(gates, 3, 0, 1), ops.sub(ops.mul(ops.slice(gates, 3, 1, 2), ops.param(`${l}.attention.gru_rel_pos_const`)), ops.scalar(1))), ops.scalar(2));
      scores = ops.add(scores, ops.mul(gate, posBias));
    }
    let probs = ops.softmax(scores, -1);
    if (training) probs = ops.dropout(probs, c.attention_dropout);
    const ctx = ops.reshape(ops.transpose(ops.matMul(probs, heads(proj('v_proj'))), [0, 2, 1, 3]), [0, 0, c.hidden_size]);
    return ops.linear(ctx, ops.param(`${l}.attention.out_proj.weight`), ops.param(`${l}.attention.out_proj.bias`));
  }
}
