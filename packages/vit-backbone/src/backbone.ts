import { toFloat32 } from '@anopatch/checkpoint';
import type { Ops, ParamSpec, TensorData } from '@anopatch/runtime';

/** What a backbone consumes: the normalised Kaldi fbank [B, frames, mel] or the waveform [B, samples]. */
export type FrontEnd = 'fbank' | 'waveform';

/** A tensor as a checkpoint reader gives it (structurally @anopatch/checkpoint's TensorRecord). */
export interface WeightRecord {
  dtype: string;
  shape: readonly number[];
  data: ArrayLike<number> | BigInt64Array | BigUint64Array;
}

/** Called with every intermediate a backbone exposes (e.g. 'patch_embed', 'layer_3'), in order. */
export type Tap<T> = (name: string, value: T) => void;

export interface ForwardOptions<T> {
  /** Dropout (and layer drop) are active only when training. */
  training: boolean;
  /**
   * 1 where the input is padding, 0 where it is signal: [B, frames] for fbank backbones, [B, samples]
   * for waveform ones. Valid tokens then equal those of running each clip alone.
   */
  paddingMask?: T;
  /** Sees each intermediate; used by parity tests and `anopatch tokens --all-layers`. */
  tap?: Tap<T>;
  /** Uniform [0, 1) source for layer drop in training (default Math.random); seed it for reproducible runs. */
  random?: () => number;
}

export interface LoadedWeights {
  /** Our parameter name -> data, one entry per ParamSpec. */
  weights: Map<string, TensorData>;
  /** Checkpoint names that were not used (e.g. a fine-tuned classifier head). */
  unused: string[];
}

/** A pre-trained encoder whose forward pass is written once against the op interface. */
export interface Backbone {
  readonly id: string;
  readonly frontEnd: FrontEnd;
  /** Channels of each output token. */
  readonly tokenDim: number;
  /** True when token 0 is a [CLS]-style utterance token. */
  readonly hasClsToken: boolean;
  /**
   * The fbank normalisation the backbone was pre-trained with (an @anopatch/audio-features preset:
   * 'beats' = BEATs' statistics, 'ast' = AudioSet's as AST/ImageBind/EAT use); null for waveform
   * backbones. Feeding a backbone another preset's features silently degrades it, so callers take it
   * from here rather than from a flag.
   */
  readonly fbankPreset: 'beats' | 'ast' | null;
  /** Number of transformer layers (taps 'layer_0' .. 'layer_{n-1}'). */
  readonly numLayers: number;
  /** Every parameter the forward pass reads, named as in the official state dict where possible. */
  paramSpecs(): ParamSpec[];
  /**
   * Map an official checkpoint's tensors onto our parameters. A missing or mis-shaped tensor is a
   * MissingWeightError / WeightShapeError naming it; names not used are reported, not fatal.
   */
  loadWeights(tensors: ReadonlyMap<string, WeightRecord>, meta?: { source?: string }): LoadedWeights;
  /** Tokens [B, P, tokenDim]. */
  forward<T>(ops: Ops<T>, input: T, options: ForwardOptions<T>): T;
}

export type BackboneFactory = (options?: Record<string, unknown>) => Backbone;

/** `createBackbone` was given an id no factory is registered for. */
export class UnknownBackboneError extends Error {
  override name = 'UnknownBackboneError';
  constructor(
    readonly id: string,
    readonly known: readonly string[],
  ) {
    super(`unknown backbone '${id}'; known backbones: ${known.length ? known.join(', ') : '(none registered)'}`);
  }
}

/** A checkpoint lacks a tensor the backbone needs. */
export class MissingWeightError extends Error {
  override name = 'MissingWeightError';
  constructor(
    readonly weight: string,
    readonly source: string,
  ) {
    super(`${source}: the checkpoint has no tensor '${weight}'`);
  }
}

/** A checkpoint tensor has a shape the configured model cannot take. */
export class WeightShapeError extends Error {
  override name = 'WeightShapeError';
  constructor(
    readonly weight: string,
    readonly source: string,
    readonly expected: readonly number[],
    readonly actual: readonly number[],
  ) {
    super(`${source}: tensor '${weight}' has shape [${actual.join(', ')}], the model expects [${expected.join(', ')}]`);
  }
}

/** A checkpoint tensor has an element type we do not read as weights. */
export class WeightDtypeError extends Error {
  override name = 'WeightDtypeError';
  constructor(
    readonly weight: string,
    readonly source: string,
    readonly dtype: string,
  ) {
    super(`${source}: tensor '${weight}' is ${dtype}; weights must be floating point`);
  }
}

/** A model config (e.g. BEATs' `cfg` in its checkpoint) is missing fields, has unknown ones, or wrong types. */
export class BackboneConfigError extends Error {
  override name = 'BackboneConfigError';
}

const registry = new Map<string, BackboneFactory>();

/** Register (or replace) the factory behind a backbone id. */
export function registerBackbone(id: string, factory: BackboneFactory): void {
  registry.set(id, factory);
}

export function knownBackbones(): string[] {
  return [...registry.keys()].sort();
}

export function createBackbone(id: string, options?: Record<string, unknown>): Backbone {
  const factory = registry.get(id);
  if (!factory) throw new UnknownBackboneError(id, knownBackbones());
  return factory(options);
}

/** A checkpoint tensor as float32 data, checked against the shape we expect. */
export function weightAsFloat32(name: string, record: WeightRecord | undefined, expected: readonly number[], source: string): TensorData {
  if (!record) throw new MissingWeightError(name, source);
  const shape = [...record.shape];
  if (shape.length !== expected.length || shape.some((d, i) => d !== expected[i])) throw new WeightShapeError(name, source, expected, shape);
  const { data, dtype } = record;
  if (dtype === 'float32') return { shape, data: data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>) };
  if (dtype === 'float64') return { shape, data: Float32Array.from(data as ArrayLike<number>) };
  if (dtype === 'float16' || dtype === 'bfloat16') {
    const wide = toFloat32({ dtype, shape, data: data as Uint16Array });
    return { shape, data: wide.data as Float32Array };
  }
  throw new WeightDtypeError(name, source, dtype);
}
