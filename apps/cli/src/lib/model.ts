import { existsSync } from 'node:fs';

import type { AnoPatchModel, ClipEmbedder } from '@anopatch/anopatch';

import { UsageError } from '../errors.js';

export interface ModelFlags {
  /** a model directory written by `anopatch train` (model.json + model.safetensors) */
  model?: string;
  backbone?: string;
  /** an official pre-trained checkpoint of --backbone (e.g. BEATs_iter3.pt) */
  weights?: string;
  /** random-init tiny BEATs (demo / tests) */
  tiny?: boolean;
  seed?: string;
  embedDim?: string;
}

export interface BuiltModel {
  model: AnoPatchModel;
  /** what the model is, said plainly (printed and stored with the results) */
  description: string;
  /** true when nothing in it was trained (random init) */
  randomInit: boolean;
}

function int(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`${name} must be an integer, got '${v}'`);
  return n;
}

/** Start TF.js (ANOPATCH_BACKEND picks one explicitly) and build the model the flags describe. */
export async function buildModel(flags: ModelFlags): Promise<BuiltModel> {
  const given = [flags.model !== undefined, flags.weights !== undefined, flags.tiny === true].filter(Boolean).length;
  if (given !== 1) throw new UsageError('give exactly one of --model <trained run dir>, --weights <pre-trained checkpoint> (with --backbone), or --tiny');
  const { initBackend } = await import('@anopatch/runtime');
  const backend = await initBackend();
  const { AnoPatchModel, loadModel } = await import('@anopatch/anopatch');
  const { TINY_BEATS_CONFIG } = await import('@anopatch/vit-backbone');
  const seed = int('--seed', flags.seed, 0);
  const embedDim = int('--embed-dim', flags.embedDim, 128);
  if (flags.model !== undefined) {
    const loaded = loadModel(flags.model);
    const m = loaded.model;
    return { model: m, description: `trained model ${flags.model} (${m.config.backbone} + ${m.config.head.pooling} -> ${m.config.head.embedDim}), loaded on TF.js ${backend.name}`, randomInit: false };
  }
  if (flags.tiny) {
    const model = AnoPatchModel.create({ backbone: 'beats', backboneOptions: { config: { ...TINY_BEATS_CONFIG } }, embedDim }, { seed });
    return {
      model,
      description: `tiny BEATs-architecture model (2 layers, 64-d), RANDOM INIT (seed ${seed}), ASP -> ${embedDim}; not the paper's pre-trained model; built on TF.js ${backend.name}`,
      randomInit: true,
    };
  }
  const weights = flags.weights!;
  if (!existsSync(weights)) throw new UsageError(`--weights ${weights}: file not found (give the path of an official checkpoint, e.g. BEATs_iter3.pt)`);
  const backbone = flags.backbone ?? 'beats';
  // the architecture comes from the checkpoint's own config (BEATs cfg, config.json, ...), never from defaults
  const { model } = AnoPatchModel.fromPretrained(backbone, weights, { embedDim }, { seed });
  return {
    model,
    description: `${backbone} from ${weights} + untrained pooling/projection head (seed ${seed}) -> ${embedDim}; built on TF.js ${backend.name}`,
    randomInit: false,
  };
}

export type Engine = 'onnx' | 'tfjs';

/**
 * The inference engine for embedding: ONNX Runtime (the model's forward pass lowered to ONNX, several
 * times faster on CPU) by default, TF.js when asked or when onnxruntime-node does not load here.
 */
export async function buildEmbedder(built: BuiltModel, options: { batchSize?: number; engine?: Engine; explicit?: boolean; log?: (line: string) => void } = {}): Promise<ClipEmbedder> {
  const { modelEmbedder, onnxModelEmbedder } = await import('@anopatch/anopatch');
  const batchSize = options.batchSize ?? 8;
  const engine = options.engine ?? 'onnx';
  if (engine === 'onnx') {
    try {
      return await onnxModelEmbedder(built.model, { batchSize, description: `${built.description}; embedded with ONNX Runtime` });
    } catch (err) {
      if (options.explicit) throw err;
      options.log?.(`note: ONNX Runtime unavailable (${(err as Error).message.split('\n')[0]}); embedding with TF.js`);
    }
  }
  return modelEmbedder(built.model, { batchSize, description: built.description });
}
