import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { readSafetensors, writeSafetensors, type TensorRecord } from '@anopatch/checkpoint';
import type { TensorData } from '@anopatch/runtime';

import { ModelStateError } from '../errors.js';
import { AnoPatchModel, type AnoPatchModelConfig, type ResolvedModelConfig } from '../model/model.js';

import { writeJsonAtomic } from './atomic.js';

export const MODEL_JSON = 'model.json';
export const MODEL_SAFETENSORS = 'model.safetensors';
export const MODEL_FORMAT = 'anopatch-model';

/** model.json: everything but the tensors. */
export interface ModelFile {
  format: typeof MODEL_FORMAT;
  version: 1;
  model: ResolvedModelConfig;
  /** ArcFace classes the model was trained on (index = class), when known. */
  classes?: string[];
  /** ArcFace settings of the training run, when known. */
  arcface?: { scale: number; margin: number; variant: string; numClasses: number };
  /** Sub-cluster AdaCos settings of the training run, when it used that loss. */
  adacos?: { subClusters: number; scale: number; numClasses: number };
}

export function toRecords(tensors: ReadonlyMap<string, TensorData>): Map<string, TensorRecord> {
  return new Map([...tensors].map(([k, t]) => [k, { dtype: 'float32' as const, shape: [...t.shape], data: t.data }]));
}

export function fromRecords(records: ReadonlyMap<string, TensorRecord>, source: string): Map<string, TensorData> {
  const out = new Map<string, TensorData>();
  for (const [k, r] of records) {
    if (r.dtype === 'float32') out.set(k, { shape: r.shape, data: r.data as Float32Array });
    else if (r.dtype === 'float64') out.set(k, { shape: r.shape, data: Float32Array.from(r.data as Float64Array) });
    else throw new ModelStateError(source, `tensor '${k}' is ${r.dtype}; expected float32`);
  }
  return out;
}

/**
 * Write a model for inference: `<dir>/model.json` (config, classes) and `<dir>/model.safetensors`
 * (`backbone.*`, `head.*`, and `arcface.weight` when given), each atomically.
 */
export async function saveModel(
  dir: string,
  model: AnoPatchModel,
  extra: {
    arcfaceWeight?: TensorData;
    /** More tensors to store beside the model's (e.g. `adacos.centres`). */
    tensors?: ReadonlyMap<string, TensorData>;
    classes?: string[];
    arcface?: ModelFile['arcface'];
    adacos?: ModelFile['adacos'];
  } = {},
): Promise<void> {
  const tensors = await model.state();
  if (extra.arcfaceWeight) tensors.set('arcface.weight', extra.arcfaceWeight);
  for (const [k, t] of extra.tensors ?? []) tensors.set(k, t);
  writeSafetensors(join(dir, MODEL_SAFETENSORS), toRecords(tensors), { format: MODEL_FORMAT });
  const file: ModelFile = { format: MODEL_FORMAT, version: 1, model: model.config };
  if (extra.classes) file.classes = extra.classes;
  if (extra.arcface) file.arcface = extra.arcface;
  if (extra.adacos) file.adacos = extra.adacos;
  writeJsonAtomic(join(dir, MODEL_JSON), file);
}

export interface LoadedModel {
  model: AnoPatchModel;
  file: ModelFile;
  /** `arcface.weight` [embedDim, numClasses] when the file has it. */
  arcfaceWeight?: TensorData;
}

/** Rebuild a model saved by saveModel (or a training checkpoint's model files). */
export function loadModel(dir: string): LoadedModel {
  const jsonPath = join(dir, MODEL_JSON);
  const stPath = join(dir, MODEL_SAFETENSORS);
  if (!existsSync(jsonPath)) throw new ModelStateError(jsonPath, 'not found: a saved model directory holds model.json and model.safetensors');
  let file: ModelFile;
  try {
    file = JSON.parse(readFileSync(jsonPath, 'utf8')) as ModelFile;
  } catch (err) {
    throw new ModelStateError(jsonPath, `not valid JSON (${(err as Error).message})`);
  }
  if (file.format !== MODEL_FORMAT || file.version !== 1) throw new ModelStateError(jsonPath, `not an ${MODEL_FORMAT} v1 file`);
  const tensors = fromRecords(readSafetensors(stPath).tensors, stPath);
  const config: AnoPatchModelConfig = {
    backbone: file.model.backbone,
    backboneOptions: file.model.backboneOptions,
    pooling: file.model.head.pooling,
    attentionChannels: file.model.head.attentionChannels,
    embedDim: file.model.head.embedDim,
  };
  const model = AnoPatchModel.create(config);
  try {
    model.loadState(tensors, stPath);
  } catch (err) {
    model.dispose();
    throw err;
  }
  const arcfaceWeight = tensors.get('arcface.weight');
  return { model, file, ...(arcfaceWeight ? { arcfaceWeight } : {}) };
}
