import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

import { decodeWav, resample, toMono, TARGET_SAMPLE_RATE } from '@anopatch/audio-features';
import { encodeNpy, readNpy } from '@anopatch/checkpoint';
import type { ClipRecord, Edition, Split } from '@anopatch/dcase-eval';

import { writeFileAtomic, writeJsonAtomic } from '../io/atomic.js';

import type { EmbeddingCache } from './cache.js';
import type { ClipEmbedder } from './embedder.js';
import { checkInterrupted, PipelineFileError } from './errors.js';
import { sha256Hex } from './hash.js';
import type { ProgressFn } from './progress.js';

export interface EmbedFilesOptions {
  cache?: EmbeddingCache;
  /** Clips decoded and sent to the embedder at a time (default 8); the unit of resumption. */
  batchSize?: number;
  onProgress?: ProgressFn;
  stage?: string;
  signal?: AbortSignal;
}

export interface EmbedFilesResult {
  embeddings: Float32Array[];
  /** sha256 of each file's bytes, in input order */
  hashes: string[];
  /** how many came from the cache */
  cached: number;
}

function decode16k(path: string, bytes: Uint8Array): Float32Array {
  const audio = decodeWav(bytes, path);
  const mono = toMono(audio);
  return audio.sampleRate === TARGET_SAMPLE_RATE ? mono : resample(mono, audio.sampleRate, TARGET_SAMPLE_RATE);
}

/**
 * Embed WAV files in order. Each file's bytes are hashed; a cache hit skips decoding and the model.
 * New embeddings go to the cache batch by batch, so Ctrl-C (signal) loses at most one batch.
 */
export async function embedFiles(paths: readonly string[], embedder: ClipEmbedder, options: EmbedFilesOptions = {}): Promise<EmbedFilesResult> {
  const { cache, onProgress, signal } = options;
  const stage = options.stage ?? 'embed';
  const batchSize = options.batchSize ?? 8;
  const out = new Array<Float32Array>(paths.length);
  const hashes = new Array<string>(paths.length);
  let cached = 0;
  let done = 0;
  let pending: { index: number; hash: string; wave: Float32Array }[] = [];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const vectors = await embedder.embed(pending.map((p) => p.wave));
    pending.forEach((p, j) => {
      const v = vectors[j]!;
      out[p.index] = v;
      cache?.put(p.hash, v);
    });
    done += pending.length;
    pending = [];
    onProgress?.({ stage, done, total: paths.length, cached });
    checkInterrupted(signal);
  };
  checkInterrupted(signal);
  for (const [i, path] of paths.entries()) {
    const bytes = await readFile(path);
    const hash = sha256Hex(bytes);
    hashes[i] = hash;
    const hit = cache?.get(hash);
    if (hit) {
      out[i] = hit;
      cached++;
      done++;
      if (done % 32 === 0) onProgress?.({ stage, done, total: paths.length, cached });
      continue;
    }
    pending.push({ index: i, hash, wave: decode16k(path, bytes) });
    if (pending.length >= batchSize) await flush();
  }
  await flush();
  onProgress?.({ stage, done: paths.length, total: paths.length, cached });
  return { embeddings: out, hashes, cached };
}

/** One clip of an embedding set: what the dataset scan said about it, paths relative to the data root. */
export interface EmbeddedClipInfo {
  path: string;
  file: string;
  subset: 'train' | 'test';
  type: string;
  /** 2020 machine ID or 2023 section, two digits */
  group: string;
  domain: 'source' | 'target' | 'unknown' | null;
  label: 'normal' | 'anomaly' | 'unknown';
  attributes: string | null;
  /** sha256 of the file's bytes when it was embedded (a changed file is embedded again) */
  sha256?: string;
}

/** `<dir>/embeddings.json` (+ `embeddings.npy`, float32 [N, dim] in clip order). */
export interface EmbeddingSet {
  format: 'anopatch-embeddings';
  version: 1;
  edition: Edition;
  split: Split;
  dataRoot: string;
  modelHash: string;
  model: string;
  dim: number;
  clips: EmbeddedClipInfo[];
}

export const EMBEDDINGS_JSON = 'embeddings.json';
export const EMBEDDINGS_NPY = 'embeddings.npy';

export function clipInfo(record: ClipRecord, dataRoot: string): EmbeddedClipInfo {
  return {
    path: relative(dataRoot, record.path).split('\\').join('/'),
    file: record.file,
    subset: record.subset,
    type: record.type,
    group: (record.id ?? record.section)!,
    domain: record.domain,
    label: record.label,
    attributes: record.attributes,
  };
}

/** Write an embedding set (npy first, json last: the json is the completion marker). */
export function saveEmbeddingSet(dir: string, set: EmbeddingSet, embeddings: readonly Float32Array[]): void {
  const data = new Float32Array(embeddings.length * set.dim);
  embeddings.forEach((e, i) => data.set(e, i * set.dim));
  writeFileAtomic(join(dir, EMBEDDINGS_NPY), encodeNpy({ dtype: 'float32', shape: [embeddings.length, set.dim], data }));
  writeJsonAtomic(join(dir, EMBEDDINGS_JSON), set);
}

export function loadEmbeddingSet(dir: string): { set: EmbeddingSet; embeddings: Float32Array[] } {
  const jsonPath = join(dir, EMBEDDINGS_JSON);
  let set: EmbeddingSet;
  try {
    set = JSON.parse(readFileSync(jsonPath, 'utf8')) as EmbeddingSet;
  } catch (err) {
    throw new PipelineFileError(jsonPath, `cannot read an embedding set (${(err as Error).message.split('\n')[0]}); run \`anopatch embed\` first`);
  }
  if (set.format !== 'anopatch-embeddings' || set.version !== 1) throw new PipelineFileError(jsonPath, 'not an anopatch-embeddings v1 file');
  const npyPath = join(dir, EMBEDDINGS_NPY);
  let npy;
  try {
    npy = readNpy(readFileSync(npyPath), npyPath);
  } catch (err) {
    throw new PipelineFileError(npyPath, `cannot read (${(err as Error).message.split('\n')[0]})`);
  }
  if (npy.shape.length !== 2 || npy.shape[0] !== set.clips.length || npy.shape[1] !== set.dim || !(npy.data instanceof Float32Array)) {
    throw new PipelineFileError(npyPath, `expected float32 [${set.clips.length}, ${set.dim}], got ${npy.dtype} [${npy.shape.join(', ')}]`);
  }
  const data = npy.data;
  return { set, embeddings: set.clips.map((_, i) => data.slice(i * set.dim, (i + 1) * set.dim)) };
}
