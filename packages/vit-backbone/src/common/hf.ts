import type { Ops, ParamSpec, TensorData } from '@anopatch/runtime';

import { BackboneConfigError, weightAsFloat32, type LoadedWeights, type WeightRecord } from '../backbone.js';

export type HfFieldKind = 'int' | 'number' | 'bool' | 'string' | 'intArray';
type HfValue<K extends HfFieldKind> = K extends 'int' | 'number' ? number : K extends 'bool' ? boolean : K extends 'string' ? string : number[];
export interface HfField<K extends HfFieldKind = HfFieldKind> {
  kind: K;
  /** The Hugging Face config class's default, used when config.json omits the field (as transformers does). */
  default: HfValue<K>;
}

function typed(kind: HfFieldKind, v: unknown): boolean {
  switch (kind) {
    case 'int':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'bool':
      return typeof v === 'boolean';
    case 'string':
      return typeof v === 'string';
    case 'intArray':
      return Array.isArray(v) && v.every((e) => typeof e === 'number' && Number.isInteger(e));
  }
}

/**
 * Read the fields a model needs from a Hugging Face config.json object. Absent fields take the
 * config class's default, exactly as `PretrainedConfig.from_pretrained` does; present fields must
 * have the right type. Other fields (architectures, id2label, ...) are not the model's concern.
 */
export function readHfConfig<C>(raw: unknown, fields: { [K in keyof C]: HfField }, source: string): C {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new BackboneConfigError(`${source}: the config must be a config.json object`);
  const obj = raw as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const bad: string[] = [];
  for (const [key, field] of Object.entries<HfField>(fields)) {
    const v = obj[key];
    if (v === undefined || v === null) out[key] = Array.isArray(field.default) ? [...field.default] : field.default;
    else if (!typed(field.kind, v)) bad.push(`${key}=${JSON.stringify(v)} (expected ${field.kind})`);
    else out[key] = Array.isArray(v) ? [...(v as number[])] : v;
  }
  if (bad.length) throw new BackboneConfigError(`${source}: mistyped config field(s) ${bad.join(', ')}`);
  return out as C;
}

/**
 * Map a Hugging Face state dict onto our parameters (named as the bare model's state dict). Task
 * checkpoints store the same tensors under a prefix (`wav2vec2.`, `audio_spectrogram_transformer.`);
 * the first prefix under which the checkpoint holds our first parameter is used. `alternatives`
 * lists other names a tensor has had across transformers versions.
 */
export function loadHfWeights(
  specs: readonly ParamSpec[],
  tensors: ReadonlyMap<string, WeightRecord>,
  source: string,
  prefixes: readonly string[],
  alternatives: ReadonlyMap<string, readonly string[]> = new Map(),
): LoadedWeights {
  const probe = specs[0]!.name;
  const prefix = ['', ...prefixes].find((p) => tensors.has(p + probe) || (alternatives.get(probe) ?? []).some((a) => tensors.has(p + a))) ?? '';
  const weights = new Map<string, TensorData>();
  const used = new Set<string>();
  for (const spec of specs) {
    const names = [spec.name, ...(alternatives.get(spec.name) ?? [])].map((n) => prefix + n);
    const found = names.find((n) => tensors.has(n)) ?? names[0]!;
    weights.set(spec.name, weightAsFloat32(found, tensors.get(found), spec.shape, source));
    used.add(found);
  }
  const unused = [...tensors.keys()].filter((k) => !used.has(k)).sort();
  return { weights, unused };
}

/**
 * Sliding windows along axis 1 of x [B, T, C]: [B, T', k * C] with window j = frames s*j .. s*j+k-1
 * (tap-major, channel-minor) and T' = floor((T - k) / s) + 1, what a strided Conv1d sees. Written
 * with slices, a zero pad and a reshape only, so it lowers to ONNX with a dynamic T and its
 * gradient needs no convolution backprop kernel (absent on wasm). `channels` must be static.
 */
export function unfold<T>(ops: Ops<T>, x: T, k: number, s: number, channels: number): T {
  const taps: T[] = [];
  // s - 1 zero frames make the truncation below round the tap's length up, so all taps keep T' frames
  const pad = s > 1 ? ops.mul(ops.slice(x, 1, 0, s - 1), ops.scalar(0)) : undefined;
  for (let i = 0; i < k; i++) {
    const end = i - (k - 1);
    let xi = ops.slice(x, 1, i, end === 0 ? undefined : end); // frames i .. T-k+i
    if (pad !== undefined) {
      xi = ops.truncateToMultiple(ops.concat([xi, pad], 1), 1, s);
      xi = ops.slice(ops.reshape(xi, [0, -1, s, channels]), 2, 0, 1);
    } else xi = ops.reshape(xi, [0, -1, 1, channels]);
    taps.push(xi);
  }
  return ops.reshape(k === 1 ? taps[0]! : ops.concat(taps, 2), [0, -1, k * channels]);
}

/** Conv1d(Cin, Cout, k, stride s) on channels-last x [B, T, Cin] with W [Cout, Cin, k]: unfold + one matMul. */
export function stridedConv1d<T>(ops: Ops<T>, x: T, weight: T, k: number, s: number, cin: number, bias?: T): T {
  const w = ops.reshape(ops.transpose(weight, [0, 2, 1]), [0, k * cin]); // [Cout, k * Cin], tap-major like unfold
  return ops.linear(unfold(ops, x, k, s, cin), w, bias);
}
