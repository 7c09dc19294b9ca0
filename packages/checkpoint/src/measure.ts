import { statSync } from 'node:fs';

import { numelOf, type TensorRecord } from './tensor.js';
import { type CheckpointFormat, readTorchCheckpoint, type ReadCheckpointOptions } from './torch.js';
import { writeTorchCheckpoint } from './torchwrite.js';

export interface CheckpointLoadMeasurement {
  path: string;
  format: CheckpointFormat;
  fileBytes: number;
  tensors: number;
  parameters: number;
  /** wall-clock seconds for readTorchCheckpoint, all tensor data materialised */
  seconds: number;
  /** fileBytes / seconds, in MB/s (10^6) */
  megabytesPerSecond: number;
  /** the process's resident set before the load */
  rssBeforeBytes: number;
  /**
   * the process's peak resident set so far (getrusage maxrss): the load's peak when measured in a
   * fresh process, as `anopatch-bench speed` does
   */
  peakRssBytes: number;
}

/** Load a checkpoint once, timing it and recording memory, for the speed benchmark. */
export function measureCheckpointLoad(path: string, options: ReadCheckpointOptions = {}): CheckpointLoadMeasurement {
  const fileBytes = statSync(path).size;
  const rssBeforeBytes = process.memoryUsage.rss();
  const t0 = process.hrtime.bigint();
  const ck = readTorchCheckpoint(path, options);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  let parameters = 0;
  for (const t of ck.tensors.values()) parameters += numelOf(t.shape);
  return {
    path,
    format: ck.format,
    fileBytes,
    tensors: ck.tensors.size,
    parameters,
    seconds,
    megabytesPerSecond: fileBytes / 1e6 / seconds,
    rssBeforeBytes,
    // maxRSS is reported in kilobytes
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

/**
 * Write a synthetic BEATs-base-shaped checkpoint (`{cfg, model}`, 12 layers of 768/3072 unless
 * told otherwise, topped up by a predictor to `parameters` if that is larger; 90.25M parameters,
 * 361 MB by default) for the load benchmark, without Python. Values come from a seeded generator,
 * so the file is reproducible.
 */
export function writeSyntheticCheckpoint(
  path: string,
  options: { parameters?: number; seed?: number; layers?: number; dim?: number; ffn?: number } = {},
): { parameters: number; tensors: number } {
  const D = options.dim ?? 768;
  const F = options.ffn ?? 3072;
  const L = options.layers ?? 12;
  if (D % 16 !== 0) throw new RangeError(`writeSyntheticCheckpoint: dim ${D} is not a multiple of 16 (the pos_conv groups)`);
  let state = (options.seed ?? 1) >>> 0 || 1;
  const tensors = new Map<string, TensorRecord>();
  const add = (name: string, shape: number[]): void => {
    const data = new Float32Array(numelOf(shape));
    // xorshift32 scaled to +-0.02: cheap, deterministic, weight-like magnitudes
    for (let i = 0; i < data.length; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      data[i] = ((state >>> 0) / 4294967296 - 0.5) * 0.04;
    }
    tensors.set(name, { dtype: 'float32', shape, data });
  };
  add('patch_embedding.weight', [512, 1, 16, 16]);
  add('layer_norm.weight', [512]);
  add('post_extract_proj.weight', [D, 512]);
  add('encoder.pos_conv.0.weight_v', [D, D / 16, 128]);
  for (let i = 0; i < L; i++) {
    for (const m of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      add(`encoder.layers.${i}.self_attn.${m}.weight`, [D, D]);
      add(`encoder.layers.${i}.self_attn.${m}.bias`, [D]);
    }
    add(`encoder.layers.${i}.fc1.weight`, [F, D]);
    add(`encoder.layers.${i}.fc2.weight`, [D, F]);
    for (const n of ['self_attn_layer_norm', 'final_layer_norm']) {
      add(`encoder.layers.${i}.${n}.weight`, [D]);
      add(`encoder.layers.${i}.${n}.bias`, [D]);
    }
  }
  let total = 0;
  for (const t of tensors.values()) total += t.data.length;
  const want = options.parameters ?? 90_000_000;
  if (want > total) {
    add('predictor.weight', [want - total]);
    total = want;
  }
  writeTorchCheckpoint(path, tensors, { cfg: { encoder_layers: L, encoder_embed_dim: D, encoder_ffn_embed_dim: F, embed_dim: 512, input_patch_size: 16 } });
  return { parameters: total, tensors: tensors.size };
}
