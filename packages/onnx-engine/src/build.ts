import type { OpDType, Ops, TensorData } from '@anopatch/runtime';

import { OnnxGraphBuilder, type OnnxValue } from './graph.js';

export interface GraphInputSpec {
  name: string;
  /** Dims as numbers, or a name (string) for a dynamic axis, e.g. ['batch', 'frames', 128]. */
  shape: readonly (number | string)[];
  dtype?: OpDType;
}

export interface BuildOnnxModelOptions {
  weights: ReadonlyMap<string, TensorData>;
  inputs: readonly GraphInputSpec[];
  /** The model's forward pass written against `Ops`; returns outputs by graph output name. */
  forward: (ops: Ops<OnnxValue>, inputs: readonly OnnxValue[]) => Record<string, OnnxValue>;
  source?: string;
  graphName?: string;
  metadata?: Record<string, string>;
  /** See OnnxGraphBuilderOptions.linearPrecision. */
  linearPrecision?: 'float32' | 'int8';
  /** See OnnxGraphBuilderOptions.minQuantizedFeatures. */
  minQuantizedFeatures?: number;
  /** See OnnxGraphBuilderOptions.quantizeParam. */
  quantizeParam?: (name: string) => boolean;
}

/** Runs a model's `Ops` forward pass on the ONNX lowering and returns the finished graph builder. */
export function buildOnnxModel(options: BuildOnnxModelOptions): OnnxGraphBuilder {
  const builder = new OnnxGraphBuilder({
    weights: options.weights,
    ...(options.source !== undefined ? { source: options.source } : {}),
    ...(options.graphName !== undefined ? { graphName: options.graphName } : {}),
    ...(options.metadata !== undefined ? { metadata: options.metadata } : {}),
    ...(options.linearPrecision !== undefined ? { linearPrecision: options.linearPrecision } : {}),
    ...(options.minQuantizedFeatures !== undefined ? { minQuantizedFeatures: options.minQuantizedFeatures } : {}),
    ...(options.quantizeParam !== undefined ? { quantizeParam: options.quantizeParam } : {}),
  });
  const inputs = options.inputs.map((i) => builder.input(i.name, i.shape, i.dtype ?? 'float32'));
  const outputs = options.forward(builder, inputs);
  for (const [name, value] of Object.entries(outputs)) builder.output(value, name);
  return builder;
}
