import { Option, type Command } from 'commander';

import { UsageError } from '../errors.js';

/** The flags every model-using command shares (see lib/model.ts). */
export function modelOptions(cmd: Command): Command {
  return cmd
    .option('--model <dir>', 'a model trained by `anopatch train` (its run directory: model.json + model.safetensors)')
    .option('--backbone <id>', 'pre-trained backbone of --weights (registry id)', 'beats')
    .option('--weights <checkpoint>', "the backbone's official pre-trained checkpoint, e.g. BEATs_iter3.pt (pooling/projection head starts untrained)")
    .option('--tiny', 'a tiny random-init BEATs-architecture model (demo and tests: says nothing about the paper)')
    .option('--seed <n>', 'seed of the random init', '0')
    .option('--embed-dim <n>', 'embedding dimension of a new head (paper: 128)', '128');
}

/** --engine for commands that embed (train always runs on TF.js). */
export function engineOption(): Option {
  return new Option('--engine <engine>', 'inference engine: onnx (ONNX Runtime; falls back to TF.js where it does not load) or tfjs').choices(['onnx', 'tfjs']);
}

export function editionOption(): Option {
  return new Option('--edition <year>', 'DCASE Task 2 edition (file layout, banks and metrics)').choices(['2020', '2023']).makeOptionMandatory();
}

export function positiveInt(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer, got '${v}'`);
  return n;
}

export function number(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`${name} must be a number, got '${v}'`);
  return n;
}
