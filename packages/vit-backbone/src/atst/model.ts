import type { Ops, ParamSpec } from '@anopatch/runtime';

import { BackboneConfigError, type Backbone, type ForwardOptions, type LoadedWeights, type WeightRecord } from '../backbone.js';
import { loadHfWeights, readHfConfig, type HfField } from '../common/hf.js';

/** FrameAST's constructor arguments (ATST-Frame base: 768-d, 12 blocks, 64 x 4 patches, 1001 frames). */
export interface AtstConfig {
  embed_dim: number;
  depth: number;
  num_heads: number;
  mlp_ratio: number;
  /** Patch height in mel bins (ATST-Frame: all 64). */
  patch_h: number;
  /** Patch width in frames (4 frames = 40 ms per token). */
  patch_w: number;
  /** Frames the position embeddings cover (1001 = 10 s); longer audio must be chunked by the caller. */
  spec_w: number;
  drop_path_rate: number;
}

const FIELDS: { [K in keyof AtstConfig]: HfField } = {
  embed_dim: { kind: 'int', default: 768 },
  depth: { kind: 'int', default: 12 },
  num_heads: { kind: 'int', default: 12 },
  mlp_ratio: { kind: 'number', default: 4 },
  patch_h: { kind: 'int', default: 64 },
  patch_w: { kind: 'int', default: 4 },
  spec_w: { kind: 'int', default: 1001 },
  drop_path_rate: { kind: 'number', default: 0.1 },
};

/** The mel front end ATST-Frame was trained with (audiossl atstframe/embedding.py). */
export const ATST_MEL = Object.freeze({ sampleRate: 16000, nFft: 1024, hop: 160, fMin: 60, fMax: 7800, nMels: 64, topDb: 80, min: -79.6482, max: 50.6842 });

export function parseAtstConfig(raw: unknown, source = 'ATST cfg'): AtstConfig {
  const c = readHfConfig<AtstConfig>(raw, FIELDS, source);
  const problems: string[] = [];
  if (c.embed_dim % c.num_heads !== 0) problems.push(`embed_dim ${c.embed_dim} is not a multiple of num_heads ${c.num_heads}`);
  if (c.patch_h !== ATST_MEL.nMels) problems.push(`patch_h ${c.patch_h} must be ${ATST_MEL.nMels} (one patch spans every mel bin)`);
  if (c.patch_w <= 0 || c.spec_w < c.patch_w) problems.push(`patch_w ${c.patch_w} / spec_w ${c.spec_w} are not a valid patching`);
  if (!Number.isInteger(c.mlp_ratio * c.embed_dim)) problems.push(`mlp_ratio ${c.mlp_ratio} x embed_dim is not an integer`);
  if (problems.length) throw new BackboneConfigError(`${source}: ${problems.join('; ')}`);
  return c;
}

/** torchaudio.functional.melscale_fbanks(n_fft / 2 + 1, f_min, f_max, n_mels, sr, norm=None, mel_scale='htk'): [freqs, mels]. */
export function atstMelFilterbank(): Float32Array {
  const { sampleRate, nFft, fMin, fMax, nMels } = ATST_MEL;
  const nFreqs = nFft / 2 + 1;
  const toMel = (f: number) => 2595 * Math.log10(1 + f / 700);
  const toHz = (m: number) => 700 * (Math.pow(10, m / 2595) - 1);
  const mMin = toMel(fMin);
  const mMax = toMel(fMax);
  const fPts = Array.from({ length: nMels + 2 }, (_, i) => toHz(mMin + ((mMax - mMin) * i) / (nMels + 1)));
  const fb = new Float32Array(nFreqs * nMels);
  for (let k = 0; k < nFreqs; k++) {
    const f = ((sampleRate / 2) * k) / (nFreqs - 1);
    for (let m = 0; m < nMels; m++) {
      const down = (f - fPts[m]!) / (fPts[m + 1]! - fPts[m]!);
      const up = (fPts[m + 2]! - f) / (fPts[m + 2]! - fPts[m + 1]!);
      fb[k * nMels + m] = Math.max(0, Math.min(down, up));
    }
  }
  return fb;
}

/** Hann-windowed real DFT of one 1024-sample frame: [1024, 513] cosine and sine bases. */
function dftBases(): { cos: Float32Array; sin: Float32Array } {
  const n = ATST_MEL.nFft;
  const bins = n / 2 + 1;
  const cos = new Float32Array(n * bins);
  const sin = new Float32Array(n * bins);
  for (let t = 0; t < n; t++) {
    // torch.hann_window(n, periodic=True)
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * t) / n);
    for (let k = 0; k < bins; k++) {
      const a = (2 * Math.PI * ((t * k) % n)) / n;
      cos[t * bins + k] = w * Math.cos(a);
      sin[t * bins + k] = w * Math.sin(a);
    }
  }
  return { cos, sin };
}

/** Additive score for padded keys: softmax gives them exactly 0 without the NaNs -inf can make. */
const MASKED_SCORE = -1e9;
const LN_EPS = 1e-6;
const PREFIX = 'model.teacher.encoder.';

/**
 * ATST-Frame (Li et al. 2024, Audio-WestlakeU/audiossl): the teacher encoder as its embedding code
 * runs it, front end included. Input: the 16 kHz waveform [B, samples] (at least 1024). The log-mel
 * is computed in the graph: centred STFT (n_fft 1024, hop 160, Hann, reflect padding), power, 64
 * HTK mels (60-7800 Hz), dB clamped at the clip's max - 80 dB, min-max scaled to [-1, 1]; then
 * one token per 4 frames (Linear over 64 mels x 4 frames), learned positions, pre-LN blocks and the
 * final LayerNorm. Tokens [B, floor((1 + samples / 160) / 4), D]; no [CLS]. The positions cover
 * `spec_w` frames (10 s): longer audio must be chunked by the caller, as the official code does.
 *
 * Padded batches: each clip's reflect padding, dB ceiling and key mask use its own length (from
 * the padding mask), so valid tokens equal those of the clip alone. Parameter names are FrameAST's;
 * Lightning checkpoints (`model.teacher.encoder.` prefix) load as published.
 */
export class AtstFrameBackbone implements Backbone {
  readonly id = 'atst';
  readonly frontEnd = 'waveform' as const;
  readonly hasClsToken = false;
  readonly fbankPreset = null;
  readonly config: Readonly<AtstConfig>;

  constructor(config: Readonly<AtstConfig> = parseAtstConfig({})) {
    this.config = config;
  }

  get tokenDim(): number {
    return this.config.embed_dim;
  }
  get numLayers(): number {
    return this.config.depth;
  }
  /** Tokens for a clip of `samples` samples. */
  tokensFor(samples: number): number {
    return Math.floor((1 + Math.floor(samples / ATST_MEL.hop)) / this.config.patch_w);
  }

  paramSpecs(): ParamSpec[] {
    const c = this.config;
    const D = c.embed_dim;
    const F = c.mlp_ratio * D;
    const specs: ParamSpec[] = [];
    const add = (name: string, shape: number[], init: ParamSpec['init']) => specs.push({ name, shape, init });
    // FrameAST._init_weights: trunc_normal(0.02) linears and positions, zero biases, unit LayerNorms
    const linear = (name: string, out: number, inp: number, bias = true) => {
      add(`${name}.weight`, [out, inp], { kind: 'normal', std: 0.02 });
      if (bias) add(`${name}.bias`, [out], { kind: 'zeros' });
    };
    const norm = (name: string) => {
      add(`${name}.weight`, [D], { kind: 'ones' });
      add(`${name}.bias`, [D], { kind: 'zeros' });
    };
    linear('patch_embed.patch_embed', D, c.patch_h * c.patch_w);
    add('pos_embed', [1, 1 + Math.floor(c.spec_w / c.patch_w), D], { kind: 'normal', std: 0.02 });
    for (let i = 0; i < c.depth; i++) {
      const b = `blocks.${i}.`;
      norm(`${b}norm1`);
      linear(`${b}attn.qkv`, 3 * D, D, false);
      linear(`${b}attn.proj`, D, D);
      norm(`${b}norm2`);
      linear(`${b}mlp.fc1`, F, D);
      linear(`${b}mlp.fc2`, D, F);
    }
    norm('norm_frame');
    return specs;
  }

  loadWeights(tensors: ReadonlyMap<string, WeightRecord>, meta: { source?: string } = {}): LoadedWeights {
    return loadHfWeights(this.paramSpecs(), tensors, meta.source ?? 'ATST-Frame checkpoint', [PREFIX]);
  }

  forward<T>(ops: Ops<T>, input: T, options: ForwardOptions<T>): T {
    const c = this.config;
    const tap = options.tap ?? (() => undefined);
    const training = options.training;
    const D = c.embed_dim;
    const { hop, nFft, nMels } = ATST_MEL;
    const bins = nFft / 2 + 1;
    const half = nFft / 2;
    const int = (v: number) => ops.scalar(v, 'int32');

    // lengths: S for every clip alone, S - padding with a mask
    const S = ops.add(ops.max(ops.range(input, 1), 0), int(1)); // scalar int32
    let L = ops.reshape(S, [1, 1]); // [B or 1, 1]
    let x = input;
    if (options.paddingMask !== undefined) {
      x = ops.mul(x, ops.sub(ops.scalar(1), options.paddingMask));
      L = ops.sub(L, ops.cast(ops.sum(options.paddingMask, 1, true), 'int32'));
    }
    // frame indices j = 0 .. S / 160 (F = 1 + floor(S / 160) frames), each with its 1024 taps
    const blocks = ops.range(ops.reshape(ops.truncateToMultiple(input, 1, hop), [0, -1, hop]), 1);
    const j = ops.concat([blocks, ops.add(ops.slice(blocks, 0, -1), int(1))], 0); // [F]
    const tapIdx = ops.constant(Array.from({ length: nFft }, (_, t) => t - half), [1, nFft], 'int32');
    const pos = ops.add(ops.mul(ops.reshape(j, [-1, 1]), int(hop)), tapIdx); // [F, 1024], sample index before reflection
    // reflect about each clip's ends: src = (L - 1) - |(L - 1) - |p||, then rows of the flattened batch
    const Lm1 = ops.reshape(ops.sub(L, int(1)), [-1, 1, 1]); // [B, 1, 1]
    const src = ops.maximum(ops.sub(Lm1, ops.abs(ops.sub(Lm1, ops.abs(pos)))), int(0)); // [B, F, 1024]
    const row = ops.reshape(ops.mul(ops.range(input, 0), S), [-1, 1, 1]);
    const frames = ops.gather(ops.reshape(x, [-1]), ops.add(src, row), 0); // [B, F, 1024]

    // power spectrum through Hann-windowed DFT bases, HTK mel filterbank
    const { cos, sin } = dftBases();
    const re = ops.matMul(frames, ops.constant(cos, [nFft, bins]));
    const im = ops.matMul(frames, ops.constant(sin, [nFft, bins]));
    const power = ops.add(ops.mul(re, re), ops.mul(im, im));
    const mel = ops.matMul(power, ops.constant(atstMelFilterbank(), [bins, nMels])); // [B, F, 64]
    // AmplitudeToDB(power, top_db=80): 10 log10(max(p, 1e-10)), floored at the clip's max - 80
    let db = ops.mul(ops.log(ops.maximum(mel, ops.scalar(1e-10))), ops.scalar(10 / Math.LN10));
    const frameValid = ops.less(ops.reshape(ops.cast(j, 'float32'), [1, -1, 1]), ops.reshape(ops.add(ops.floor(ops.div(ops.cast(L, 'float32'), ops.scalar(hop))), ops.scalar(1)), [-1, 1, 1]));
    const ceiling = ops.max(ops.where(frameValid, db, ops.scalar(-1e9)), [1, 2], true); // [B, 1, 1]
    db = ops.maximum(db, ops.sub(ceiling, ops.scalar(ATST_MEL.topDb)));
    const spec = ops.sub(ops.mul(ops.sub(db, ops.scalar(ATST_MEL.min)), ops.scalar(2 / (ATST_MEL.max - ATST_MEL.min))), ops.scalar(1));
    tap('melspec', spec);

    // one token per patch_w frames: features (mel, frame) as FrameAST's Rearrange orders them
    const pw = c.patch_w;
    let h = ops.transpose(ops.reshape(ops.truncateToMultiple(spec, 1, pw), [0, -1, pw, nMels]), [0, 1, 3, 2]);
    h = ops.linear(ops.reshape(h, [0, 0, nMels * pw]), ops.param('patch_embed.patch_embed.weight'), ops.param('patch_embed.patch_embed.bias'));
    tap('patch_embed', h);
    const tokenPos = ops.add(ops.range(h, 1), int(1)); // 'cut': positions from index 1
    h = ops.add(h, ops.gather(ops.reshape(ops.param('pos_embed'), [-1, D]), tokenPos, 0));
    tap('embeddings', h);

    let keyBias: T | undefined;
    if (options.paddingMask !== undefined) {
      // a token is padding when it starts at or past the clip's floor(F_b / patch_w) tokens
      const valid = ops.floor(ops.div(ops.add(ops.floor(ops.div(ops.cast(L, 'float32'), ops.scalar(hop))), ops.scalar(1)), ops.scalar(pw))); // [B, 1]
      const isValid = ops.cast(ops.less(ops.reshape(ops.cast(ops.range(h, 1), 'float32'), [1, -1]), valid), 'float32');
      keyBias = ops.reshape(ops.mul(ops.sub(ops.scalar(1), isValid), ops.scalar(MASKED_SCORE)), [0, 1, 1, -1]);
    }
    for (let i = 0; i < c.depth; i++) {
      const rate = training && c.depth > 1 ? (c.drop_path_rate * i) / (c.depth - 1) : 0;
      const hi = h;
      // one block's intermediates alive at a time (block 0's attention output is tapped, so not scoped away)
      h = i === 0 && options.tap ? this.block(ops, i, hi, keyBias, rate, tap) : ops.scope(() => this.block(ops, i, hi, keyBias, rate));
      tap(`layer_${i}`, h);
    }
    h = ops.layerNorm(h, ops.param('norm_frame.weight'), ops.param('norm_frame.bias'), LN_EPS);
    tap('final', h);
    return h;
  }

  private block<T>(ops: Ops<T>, i: number, x: T, keyBias: T | undefined, dropPath: number, tap?: (name: string, v: T) => void): T {
    const c = this.config;
    const b = `blocks.${i}.`;
    const D = c.embed_dim;
    const H = c.num_heads;
    const hd = D / H;
    const ln = (name: string, v: T) => ops.layerNorm(v, ops.param(`${b}${name}.weight`), ops.param(`${b}${name}.bias`), LN_EPS);
    const lin = (name: string, v: T, bias = true) => ops.linear(v, ops.param(`${b}${name}.weight`), bias ? ops.param(`${b}${name}.bias`) : undefined);
    // DropPath: one keep/drop draw per sample, kept samples scaled by 1 / (1 - rate)
    const drop = (v: T) => (dropPath > 0 ? ops.mul(v, ops.dropout(ops.add(ops.mul(ops.slice(ops.slice(v, 1, 0, 1), 2, 0, 1), ops.scalar(0)), ops.scalar(1)), dropPath)) : v);
    const qkv = lin('attn.qkv', ln('norm1', x), false);
    const heads = (j: number) => ops.transpose(ops.reshape(ops.slice(qkv, 2, j * D, (j + 1) * D), [0, 0, H, hd]), [0, 2, 1, 3]);
    let scores = ops.matMul(ops.mul(heads(0), ops.scalar(Math.pow(hd, -0.5))), heads(1), { transposeB: true });
    if (keyBias !== undefined) scores = ops.add(scores, keyBias);
    const ctx = ops.reshape(ops.transpose(ops.matMul(ops.softmax(scores, -1), heads(2)), [0, 2, 1, 3]), [0, 0, D]);
    const a = lin('attn.proj', ctx);
    tap?.('layer0_attention', a);
    const h = ops.add(x, drop(a));
    return ops.add(h, drop(lin('mlp.fc2', ops.gelu(lin('mlp.fc1', ln('norm2', h))))));
  }
}
