import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { BACKBONE_PREFIX, HEAD_PREFIX, MODEL_JSON, MODEL_SAFETENSORS, poolAndProject, type ModelFile } from '@anopatch/anopatch';
import { readSafetensors } from '@anopatch/checkpoint';
import { buildOnnxModel, ONNX_OPSET, type OnnxGraphBuilder } from '@anopatch/onnx-engine';
import type { TensorData } from '@anopatch/runtime';
import { createBackbone, knownBackbones, loadBeatsCheckpoint, type Backbone } from '@anopatch/vit-backbone';
import { Option, type Command } from 'commander';

import { UsageError } from '../errors.js';

/** --out names an existing file and --force was not given. */
export class ExportOutputExistsError extends Error {
  override name = 'ExportOutputExistsError';
}

/** --weights is neither an official backbone checkpoint nor one of our model directories. */
export class ExportWeightsError extends Error {
  override name = 'ExportWeightsError';
}

export type ExportPrecision = 'fp32' | 'int8';

export interface ExportModelOptions {
  /** fp32 (default) or int8 (dynamically quantised transformer linear layers; front end and head stay fp32). */
  precision?: ExportPrecision;
  /** Also expose every backbone intermediate the backbone taps (patch_embed, layer_0, ...) as graph outputs. */
  stages?: boolean;
}

export interface ExportedModel {
  builder: OnnxGraphBuilder;
  /** 'tokens' for a plain pre-trained backbone; 'embedding' (plus 'tokens') for an AnoPatch model. */
  kind: 'tokens' | 'embedding';
  outputs: string[];
  backbone: Backbone;
}

/** The input every exported model takes: the normalised fbank, dynamic batch and time axes. */
export const EXPORT_INPUT = 'fbank';

function quantizable(backbone: Backbone): (name: string) => boolean {
  // patch projection and post_extract_proj see LayerNorm outputs with rare large values: per-tensor
  // uint8 activations there cost ~17 % of the token scale on BEATs, the transformer layers < 0.4 %
  return (name) => backbone.id !== 'beats' || name.startsWith('encoder.layers.');
}

function build(
  backbone: Backbone,
  weights: ReadonlyMap<string, TensorData>,
  head: { pooling: 'asp' | 'cls' } | null,
  source: string,
  options: ExportModelOptions,
  metadata: Record<string, string>,
): ExportedModel {
  const outputs: string[] = [];
  const precision = options.precision ?? 'fp32';
  const builder = buildOnnxModel({
    weights,
    source,
    graphName: `anopatch-${backbone.id}`,
    metadata: { backbone: backbone.id, precision, ...metadata },
    ...(precision === 'int8' ? { linearPrecision: 'int8' as const, quantizeParam: quantizable(backbone) } : {}),
    inputs: [{ name: EXPORT_INPUT, shape: ['batch', 'frames', 128] }],
    forward: (ops, [x]) => {
      const taps: Record<string, ReturnType<typeof ops.param>> = {};
      const tokens = backbone.forward(ops, x!, {
        training: false,
        ...(options.stages ? { tap: (name: string, v: ReturnType<typeof ops.param>) => (taps[name] = v) } : {}),
      });
      const out: Record<string, ReturnType<typeof ops.param>> = {};
      if (head) {
        const pooled = poolAndProject(ops, tokens, head.pooling, { training: false });
        out.embedding = pooled.embedding;
        out.tokens = tokens;
        if (options.stages) out.pooled = pooled.pooled;
      } else {
        out.tokens = tokens;
      }
      for (const [name, v] of Object.entries(taps)) if (!(name in out) && name !== 'final') out[name] = v;
      outputs.push(...Object.keys(out));
      return out;
    },
  });
  return { builder, kind: head ? 'embedding' : 'tokens', outputs, backbone };
}

/**
 * The inference graph of `weights`: an official backbone checkpoint (BEATs .pt {cfg, model}) gives
 * backbone tokens; one of our model directories (model.json + model.safetensors) gives the whole
 * AnoPatch model (backbone, pooling, projection) with `embedding` [B, E] and `tokens` outputs.
 */
export function exportModel(backboneId: string, weightsPath: string, options: ExportModelOptions = {}): ExportedModel {
  if (!existsSync(weightsPath)) throw new ExportWeightsError(`${weightsPath}: not found`);
  if (statSync(weightsPath).isDirectory()) {
    const jsonPath = join(weightsPath, MODEL_JSON);
    if (!existsSync(jsonPath)) throw new ExportWeightsError(`${weightsPath}: a model directory needs ${MODEL_JSON} and ${MODEL_SAFETENSORS}`);
    const file = JSON.parse(readFileSync(jsonPath, 'utf8')) as ModelFile;
    if (file.model.backbone !== backboneId) {
      throw new ExportWeightsError(`${jsonPath}: the model uses backbone '${file.model.backbone}', not '${backboneId}'`);
    }
    const backbone = createBackbone(file.model.backbone, file.model.backboneOptions);
    const stPath = join(weightsPath, MODEL_SAFETENSORS);
    const weights = new Map<string, TensorData>();
    for (const [key, t] of readSafetensors(stPath).tensors) {
      // num_batches_tracked is int64 bookkeeping that inference never reads
      if (t.dtype !== 'float32' && t.dtype !== 'float64') continue;
      const name = key.startsWith(BACKBONE_PREFIX) ? key.slice(BACKBONE_PREFIX.length) : key.startsWith(HEAD_PREFIX) ? key.slice(HEAD_PREFIX.length) : null;
      if (name === null) continue;
      weights.set(name, { shape: t.shape, data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>) });
    }
    return build(backbone, weights, { pooling: file.model.head.pooling }, stPath, options, {
      model: 'anopatch',
      embedding_dim: String(file.model.head.embedDim),
      config: JSON.stringify(file.model),
    });
  }
  if (backboneId !== 'beats') {
    throw new UsageError(`export from an official checkpoint is supported for --backbone beats (got '${backboneId}'); pass one of our model directories for other backbones`);
  }
  const loaded = loadBeatsCheckpoint(weightsPath);
  return build(loaded.backbone, loaded.weights, null, weightsPath, options, { model: 'backbone', config: JSON.stringify(loaded.backbone.config) });
}

interface ExportCliOptions {
  format: 'onnx';
  backbone: string;
  weights: string;
  out: string;
  precision: ExportPrecision;
  stages?: boolean;
  force?: boolean;
}

/** `anopatch export --format onnx --backbone beats --weights <ckpt | model dir> --out m.onnx` */
export function register(program: Command): void {
  program
    .command('export')
    .description(
      `export the inference model to ONNX (opset ${ONNX_OPSET}, dynamic batch and time axes; input '${EXPORT_INPUT}' = normalised fbank [batch, frames, 128]): ` +
        'backbone tokens for an official checkpoint, tokens + embedding for an AnoPatch model directory',
    )
    .addOption(new Option('--format <format>', 'output format').choices(['onnx']).default('onnx'))
    .option('--backbone <id>', `backbone (${knownBackbones().join(', ')})`, 'beats')
    .requiredOption('--weights <path>', 'official checkpoint (e.g. BEATs_iter3.pt) or a model directory written by `anopatch train`')
    .requiredOption('--out <file.onnx>', 'output file (weights over 2 GB go to <file>.data beside it)')
    .addOption(new Option('--precision <p>', 'fp32, or int8 dynamic quantisation of the transformer linear layers').choices(['fp32', 'int8']).default('fp32'))
    .option('--stages', 'also output every backbone intermediate (for parity checks)')
    .option('--force', 'overwrite --out if it exists')
    .action((options: ExportCliOptions) => {
      if (existsSync(options.out) && !options.force) throw new ExportOutputExistsError(`${options.out}: already exists (pass --force to overwrite)`);
      const exported = exportModel(options.backbone, options.weights, { precision: options.precision, stages: options.stages ?? false });
      const files = exported.builder.save(options.out);
      const mb = (exported.builder.weightBytes() / 1e6).toFixed(1);
      process.stdout.write(
        `${files.join(', ')}: ONNX opset ${ONNX_OPSET}, ${exported.backbone.id} ${exported.kind} model (${options.precision}, ${mb} MB of weights), outputs ${exported.outputs.join(', ')}\n`,
      );
    });
}
