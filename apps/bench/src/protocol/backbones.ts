import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import type { AnoPatchModel } from '@anopatch/anopatch';
import type { FbankPresetName } from '@anopatch/audio-features';

import { TABLE3_BACKBONES } from '../paper/index.js';

import { BenchUsageError } from './errors.js';
import { fileSha256, sha256Hex } from './hash.js';

/**
 * The reference fixtures' tiny BEATs cfg (shared/fixtures/reference: 2 layers, 64-d, 4 heads): the
 * BEATs_iter3 architecture at a size the synthetic runs train in seconds on wasm.
 */
export const TINY_BEATS_CONFIG = {
  input_patch_size: 16,
  embed_dim: 32,
  conv_bias: false,
  encoder_layers: 2,
  encoder_embed_dim: 64,
  encoder_ffn_embed_dim: 128,
  encoder_attention_heads: 4,
  activation_fn: 'gelu',
  layer_wise_gradient_decay_ratio: 1.0,
  layer_norm_first: false,
  deep_norm: true,
  dropout: 0.0,
  attention_dropout: 0.0,
  activation_dropout: 0.0,
  encoder_layerdrop: 0.0,
  dropout_input: 0.0,
  conv_pos: 16,
  conv_pos_groups: 4,
  relative_position_embedding: true,
  num_buckets: 320,
  max_distance: 800,
  gru_rel_pos: true,
  finetuned_model: false,
} as const;

/** The tiny AST of the backbone parity fixture (tooling/reference/backbones/ast/config.json). */
export const TINY_AST_CONFIG = {
  model_type: 'audio-spectrogram-transformer',
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 64,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.0,
  attention_probs_dropout_prob: 0.0,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  patch_size: 16,
  qkv_bias: true,
  frequency_stride: 10,
  time_stride: 10,
  max_length: 100,
  num_mel_bins: 128,
} as const;

/** The tiny ImageBind audio encoder of tooling/reference/backbones/imagebind (drop path off: short runs stay deterministic). */
export const TINY_IMAGEBIND_CONFIG = { embed_dim: 32, num_blocks: 2, num_heads: 4, kernel_size: 16, stride: 10, num_mel_bins: 128, target_len: 100, drop_path: 0.0 } as const;

/** The tiny EAT encoder of tooling/reference/backbones/eat. */
export const TINY_EAT_CONFIG = { embed_dim: 32, depth: 2, num_heads: 4, mlp_ratio: 4, patch_size: 16, num_mel_bins: 128, target_length: 96, norm_eps: 1e-6 } as const;

/** Tiny random-init configs of the synthetic runs, per registered backbone id. */
export const TINY_CONFIGS: Record<string, Record<string, unknown>> = { beats: TINY_BEATS_CONFIG, ast: TINY_AST_CONFIG, imagebind: TINY_IMAGEBIND_CONFIG, eat: TINY_EAT_CONFIG };

/**
 * Fbank normalisation preset each fbank backbone was pre-trained with: AST, ImageBind and EAT all
 * normalise with the AudioSet statistics (mean -4.27, 2 x std 4.57), BEATs with its own.
 */
export function presetOf(backbone: string): FbankPresetName {
  return backbone === 'ast' || backbone === 'imagebind' || backbone === 'eat' ? 'ast' : 'beats';
}

export interface BuiltModel {
  model: AnoPatchModel;
  preset: FbankPresetName;
  /** said plainly in the output and results.json */
  description: string;
  /** identity of the weights: sha256 of the weight file(s), or 'random-init:<seed>' */
  weightsHash: string;
  /** the backbone config the model was built with (part of the cache key) */
  backboneConfig: unknown;
}

export interface BuildOptions {
  backbone: string;
  /** a checkpoint file or a Hugging Face model folder; absent = random init of TINY_CONFIGS[backbone] */
  weights?: string;
  seed: number;
  embedDim: number;
}

function weightFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((f) => /\.(pt|bin|safetensors|ckpt|pth|json)$/.test(f))
    .sort()
    .map((f) => join(path, f));
}

/** sha256 over the weight file(s) (a folder: every weight/config file in name order). */
export function weightsHash(path: string): string {
  return sha256Hex(weightFiles(path).map((f) => `${f.slice(path.length)}:${fileSha256(f)}`).join(';'));
}

/** An AnoPatch model (backbone + the paper's head) for one bench run. */
export async function buildBenchModel(options: BuildOptions): Promise<BuiltModel> {
  const { AnoPatchModel } = await import('@anopatch/anopatch');
  const { backbone, seed, embedDim } = options;
  const preset = presetOf(backbone);
  if (options.weights === undefined) {
    const config = TINY_CONFIGS[backbone];
    if (!config) throw new BenchUsageError(`no tiny config for backbone '${backbone}' (synthetic runs know ${Object.keys(TINY_CONFIGS).join(', ')})`);
    const model = AnoPatchModel.create({ backbone, backboneOptions: { config: { ...config } }, embedDim }, { seed });
    return {
      model,
      preset,
      description: `tiny ${backbone}-architecture backbone, RANDOM INIT (seed ${seed}) + ${model.config.head.pooling} -> ${embedDim}`,
      weightsHash: `random-init:${seed}`,
      backboneConfig: config,
    };
  }
  const weights = options.weights;
  if (!existsSync(weights)) throw new BenchUsageError(`${weights}: weights not found (give an official checkpoint, e.g. BEATs_iter3.pt)`);
  const hash = weightsHash(weights);
  if (backbone === 'beats') {
    const { loadBeatsCheckpoint } = await import('@anopatch/vit-backbone');
    const loaded = loadBeatsCheckpoint(weights);
    const config = { ...loaded.backbone.config };
    const model = AnoPatchModel.create({ backbone, backboneOptions: { config }, embedDim }, { backboneInstance: loaded.backbone, backboneWeights: loaded.weights, seed });
    return { model, preset, description: `beats from ${weights} + ${model.config.head.pooling} -> ${embedDim}`, weightsHash: hash, backboneConfig: config };
  }
  const { readTorchCheckpoint } = await import('@anopatch/checkpoint');
  const { createBackbone } = await import('@anopatch/vit-backbone');
  const ck = readTorchCheckpoint(weights);
  const config = (ck.meta as { config?: unknown }).config;
  const instance = createBackbone(backbone, config === undefined ? {} : { config });
  const loaded = instance.loadWeights(ck.tensors, { source: weights });
  const model = AnoPatchModel.create({ backbone, backboneOptions: config === undefined ? {} : { config }, embedDim }, { backboneInstance: instance, backboneWeights: loaded.weights, seed });
  return { model, preset, description: `${backbone} from ${weights} + ${model.config.head.pooling} -> ${embedDim}`, weightsHash: hash, backboneConfig: config ?? null };
}

export interface BackboneCandidate {
  /** registered id (or the paper's id for one not registered) */
  id: string;
  paperName: string;
  /** why it gets no row of numbers; absent = it runs */
  skipped?: string;
  /** checkpoint file or HF folder (real runs) */
  weights?: string;
}

/** `<dir>/<id>/` (a Hugging Face folder) or `<dir>/<id>*.{pt,bin,safetensors,ckpt}` (case-insensitive; BEATs_iter3.pt counts for beats). */
export function findWeights(dir: string, id: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const entries = readdirSync(dir).sort();
  const lower = id.toLowerCase();
  for (const e of entries) {
    const p = join(dir, e);
    const name = e.toLowerCase();
    if (statSync(p).isDirectory()) {
      if (name === lower) return p;
      continue;
    }
    if (/\.(pt|bin|safetensors|ckpt|pth)$/.test(name) && (name.startsWith(`${lower}.`) || name.startsWith(`${lower}_`) || name.startsWith(`${lower}-`))) return p;
  }
  return undefined;
}

/**
 * Every backbone Table 3 should show: the paper's eight plus any other registered one, each either
 * runnable or skipped with the reason (never silently dropped).
 */
export async function table3Candidates(options: { synthetic: boolean; weightsDir?: string }): Promise<BackboneCandidate[]> {
  const { createBackbone, knownBackbones } = await import('@anopatch/vit-backbone');
  const registered = knownBackbones();
  const ids = [...Object.keys(TABLE3_BACKBONES), ...registered.filter((id) => !(id in TABLE3_BACKBONES))];
  return ids.map((id) => {
    const paperName = TABLE3_BACKBONES[id] ?? id;
    if (!registered.includes(id)) return { id, paperName, skipped: `not registered in @anopatch/vit-backbone (knownBackbones(): ${registered.join(', ')})` };
    let frontEnd: string;
    try {
      frontEnd = createBackbone(id, options.synthetic && TINY_CONFIGS[id] ? { config: { ...TINY_CONFIGS[id] } } : {}).frontEnd;
    } catch (err) {
      return { id, paperName, skipped: `cannot be created: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (frontEnd !== 'fbank') return { id, paperName, skipped: `${frontEnd} front end: the @anopatch/anopatch trainer and embedder take fbank input only` };
    if (options.synthetic && !TINY_CONFIGS[id]) return { id, paperName, skipped: `no tiny config for a synthetic run of '${id}'` };
    if (options.synthetic) return { id, paperName };
    const weights = options.weightsDir ? findWeights(options.weightsDir, id) : undefined;
    if (!weights) return { id, paperName, skipped: `no weights in ${options.weightsDir ?? '(no --weights-dir)'} (looked for ${id}/ or ${id}*.pt|.bin|.safetensors|.ckpt)` };
    return { id, paperName, weights };
  });
}
