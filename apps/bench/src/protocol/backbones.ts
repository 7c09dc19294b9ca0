import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import type { AnoPatchModel } from '@anopatch/anopatch';
import type { FbankPresetName } from '@anopatch/audio-features';

import { TABLE3_BACKBONES } from '../paper/index.js';

import { BenchUsageError } from './errors.js';
import { fileSha256, sha256Hex } from './hash.js';

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
  const { TINY_BACKBONE_CONFIGS } = await import('@anopatch/vit-backbone');
  const { backbone, seed, embedDim } = options;
  if (options.weights === undefined) {
    const config = TINY_BACKBONE_CONFIGS[backbone];
    if (!config) throw new BenchUsageError(`no tiny config for backbone '${backbone}' (synthetic runs know ${Object.keys(TINY_BACKBONE_CONFIGS).join(', ')})`);
    const model = AnoPatchModel.create({ backbone, backboneOptions: { config: { ...config } }, embedDim }, { seed });
    const preset = model.backbone.fbankPreset ?? 'beats';
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
  // the architecture comes from the checkpoint's own config (BEATs cfg, config.json, ...), never from defaults
  const { model } = AnoPatchModel.fromPretrained(backbone, weights, { embedDim }, { seed });
  const preset = model.backbone.fbankPreset ?? 'beats';
  return { model, preset, description: `${backbone} from ${weights} + ${model.config.head.pooling} -> ${embedDim}`, weightsHash: hash, backboneConfig: model.config.backboneOptions.config ?? null };
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
  const { createBackbone, knownBackbones, TINY_BACKBONE_CONFIGS } = await import('@anopatch/vit-backbone');
  const registered = knownBackbones();
  const ids = [...Object.keys(TABLE3_BACKBONES), ...registered.filter((id) => !(id in TABLE3_BACKBONES))];
  return ids.map((id) => {
    const paperName = TABLE3_BACKBONES[id] ?? id;
    if (!registered.includes(id)) return { id, paperName, skipped: `not registered in @anopatch/vit-backbone (knownBackbones(): ${registered.join(', ')})` };
    const tiny = TINY_BACKBONE_CONFIGS[id];
    try {
      createBackbone(id, options.synthetic && tiny ? { config: { ...tiny } } : {});
    } catch (err) {
      return { id, paperName, skipped: `cannot be created: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (options.synthetic && !tiny) return { id, paperName, skipped: `no tiny config for a synthetic run of '${id}'` };
    if (options.synthetic) return { id, paperName };
    const weights = options.weightsDir ? findWeights(options.weightsDir, id) : undefined;
    if (!weights) return { id, paperName, skipped: `no weights in ${options.weightsDir ?? '(no --weights-dir)'} (looked for ${id}/ or ${id}*.pt|.bin|.safetensors|.ckpt)` };
    return { id, paperName, weights };
  });
}
