import { readTorchCheckpoint, type ReadCheckpointOptions } from '@anopatch/checkpoint';

import { BackboneConfigError, type LoadedWeights } from '../backbone.js';
import { parseBeatsConfig } from './config.js';
import { BeatsBackbone } from './model.js';

export interface LoadedBeats extends LoadedWeights {
  backbone: BeatsBackbone;
  /** cfg fields BEATsConfig does not know (reported, not used). */
  unknownConfigFields: string[];
}

/**
 * Open an official BEATs checkpoint ({cfg, model}, e.g. BEATs_iter3.pt) as published: the model is
 * built from the checkpoint's own cfg and its state dict is mapped onto our parameters.
 */
export function loadBeatsCheckpoint(path: string | Uint8Array, options: ReadCheckpointOptions = {}): LoadedBeats {
  const ck = readTorchCheckpoint(path, { stateDict: 'model', ...options });
  const source = typeof path === 'string' ? path : (options.name ?? 'BEATs checkpoint');
  if (!('cfg' in ck.meta)) throw new BackboneConfigError(`${source}: no 'cfg' entry; an official BEATs checkpoint is {cfg, model}`);
  const { config, unknown } = parseBeatsConfig(ck.meta.cfg, source);
  const backbone = new BeatsBackbone(config);
  const { weights, unused } = backbone.loadWeights(ck.tensors, { source });
  return { backbone, weights, unused, unknownConfigFields: unknown };
}
