import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { CheckpointConfigError, UnknownCheckpointFormatError } from './errors.js';
import { type CheckpointContents, type MetaValue, type ReadCheckpointOptions } from './torch.js';

/** Weight files a Hugging Face model directory may hold, in order of preference. */
const WEIGHTS = ['model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin', 'pytorch_model.bin.index.json'];
/** JSON side files copied into meta under their base name. */
const SIDE_FILES = ['config.json', 'preprocessor_config.json'];

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (err) {
    throw new CheckpointConfigError(`${path}: not readable JSON (${(err as Error).message})`);
  }
}

/**
 * A Hugging Face model directory (AST, wav2vec 2.0, HuBERT, WavLM, UniSpeech as published): the
 * weights (single or sharded through an index) plus config.json / preprocessor_config.json in meta.
 */
export function readModelDirectory<T>(dir: string, options: ReadCheckpointOptions, readFile: (path: string, options: ReadCheckpointOptions) => CheckpointContents<T>): CheckpointContents<T> {
  const weights = WEIGHTS.find((w) => existsSync(join(dir, w)));
  if (!weights) throw new UnknownCheckpointFormatError(`${dir}: a directory without ${WEIGHTS.join(' / ')}`);
  let ck: CheckpointContents<T>;
  if (weights.endsWith('.index.json')) {
    const indexPath = join(dir, weights);
    const index = readJson(indexPath) as { weight_map?: unknown };
    const map = index.weight_map;
    if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new CheckpointConfigError(`${indexPath}: no weight_map object`);
    const shards = [...new Set(Object.values(map as Record<string, unknown>))];
    const tensors = new Map<string, T>();
    let format: CheckpointContents<T>['format'] = 'safetensors';
    for (const shard of shards) {
      // shard names are plain file names beside the index; anything else could leave the directory
      if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\') || shard === '..' || shard === '.') {
        throw new CheckpointConfigError(`${indexPath}: shard name ${JSON.stringify(shard)} is not a file name in the directory`);
      }
      const part = readFile(join(dir, shard), options);
      format = part.format;
      for (const [name, t] of part.tensors) {
        if (tensors.has(name)) throw new CheckpointConfigError(`${indexPath}: tensor ${name} appears in more than one shard`);
        tensors.set(name, t);
      }
    }
    const missing = Object.keys(map as Record<string, unknown>).filter((k) => !tensors.has(k));
    if (missing.length > 0) throw new CheckpointConfigError(`${indexPath}: ${missing.length} tensors listed in weight_map are not in their shards (first: ${missing[0]})`);
    ck = { format, source: dir, tensors, stateDictPath: '', otherTensors: new Map(), meta: {} };
  } else {
    ck = { ...readFile(join(dir, weights), options), source: dir };
  }
  const meta: { [key: string]: MetaValue } = { ...ck.meta, weights };
  for (const side of SIDE_FILES) {
    const p = join(dir, side);
    if (existsSync(p)) Object.defineProperty(meta, side.replace(/\.json$/, ''), { value: readJson(p), enumerable: true, writable: true, configurable: true });
  }
  return { ...ck, meta };
}
