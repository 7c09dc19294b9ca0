import { readTorchCheckpoint, type ReadCheckpointOptions } from '@anopatch/checkpoint';

import { BackboneConfigError, createBackbone, knownBackbones, UnknownBackboneError, type Backbone, type LoadedWeights } from './backbone.js';
import { loadBeatsCheckpoint } from './beats/checkpoint.js';

export interface LoadedBackbone extends LoadedWeights {
  backbone: Backbone;
  /** The config the backbone was built from (store it to rebuild the same architecture); null = the id's default. */
  config: Record<string, unknown> | null;
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * EAT's encoder fields out of a fairseq checkpoint's cfg (cfg.model of a pre-training checkpoint,
 * or the w2v_args.model a fine-tuning cfg nests it under); fields it lacks keep EAT-base's values.
 */
export function eatConfigFromFairseq(cfg: unknown, source: string): Record<string, unknown> {
  let model = asRecord(asRecord(cfg)?.model);
  const nested = asRecord(asRecord(model?.w2v_args)?.model);
  if (nested) model = nested;
  // no readable cfg.model: EAT-base, whose shapes loadWeights then checks tensor by tensor
  if (!model) return {};
  if (model.layer_norm_first === true) throw new BackboneConfigError(`${source}: layer_norm_first=true is not EAT's post-LN encoder`);
  const image = asRecord(asRecord(model.modalities)?.image) ?? {};
  const out: Record<string, unknown> = {};
  for (const k of ['embed_dim', 'depth', 'num_heads', 'mlp_ratio', 'norm_eps', 'encoder_dropout', 'post_mlp_drop', 'attention_dropout', 'activation_dropout', 'end_drop_path_rate']) if (model[k] !== undefined) out[k] = model[k];
  for (const k of ['patch_size', 'target_length']) if (image[k] !== undefined) out[k] = image[k];
  return out;
}

/**
 * Open a pre-trained backbone as published and build the model its checkpoint describes: BEATs by
 * its cfg, Hugging Face model directories (AST, wav2vec 2.0, HuBERT, UniSpeech, WavLM) by their
 * config.json, EAT by its fairseq cfg; ImageBind checkpoints carry no config (imagebind_huge).
 */
export function loadBackboneCheckpoint(id: string, path: string, options: ReadCheckpointOptions = {}): LoadedBackbone {
  // a mistyped --backbone fails at once, before a checkpoint of hundreds of MB is read
  if (!knownBackbones().includes(id)) throw new UnknownBackboneError(id, knownBackbones());
  if (id === 'beats') {
    const loaded = loadBeatsCheckpoint(path, options);
    return { backbone: loaded.backbone, weights: loaded.weights, unused: loaded.unused, config: { ...loaded.backbone.config } };
  }
  const ck = readTorchCheckpoint(path, options);
  let config: Record<string, unknown> | null = null;
  if (id === 'eat' && 'cfg' in ck.meta) config = eatConfigFromFairseq(ck.meta.cfg, path);
  else if (asRecord(ck.meta.config)) config = { ...asRecord(ck.meta.config) };
  const backbone = createBackbone(id, config === null ? {} : { config });
  return { backbone, config, ...backbone.loadWeights(ck.tensors, { source: path }) };
}
