import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { readSafetensors, writeSafetensors } from '@anopatch/checkpoint';
import type { TensorData } from '@anopatch/runtime';

import { CheckpointError } from '../errors.js';
import { writeJsonAtomic } from '../io/atomic.js';
import { fromRecords, toRecords } from '../io/model-files.js';

/**
 * On-disk layout of a training run (README "Training run layout"):
 *   <outDir>/run.json                        train config, model config, classes (written at start)
 *   <outDir>/train.jsonl                     one line per optimizer step
 *   <outDir>/checkpoints/step-00000500/      model.safetensors, optimizer.safetensors, state.json
 *   <outDir>/checkpoints/latest.json         {"step": 500, "dir": "step-00000500"}
 *   <outDir>/model.json, model.safetensors   the trained model for inference (at the end)
 * A checkpoint directory is written under a temporary name and renamed when complete; latest.json
 * is replaced atomically after that, so a crash at any point leaves the previous checkpoint usable.
 */
export const CHECKPOINTS_DIR = 'checkpoints';
export const LATEST_JSON = 'latest.json';

/** Everything besides tensors that a resumed run needs to continue bit for bit. */
export interface TrainingState {
  version: 1;
  /** Optimizer steps done. */
  step: number;
  /** Clips seen. */
  clips: number;
  optimizerSteps: Record<string, number>;
  numBatchesTracked: number;
  sampler: { epoch: number; cursor: number; order: number[]; rng: { s: number; spare: number | null } };
  /** Crop + SpecAugment stream. */
  augmentRng: { s: number; spare: number | null };
  /** Layer-drop stream. */
  modelRng: { s: number; spare: number | null };
  /** Plain state of the loss head (sub-cluster AdaCos: its scale). */
  classifier?: Record<string, number>;
  /** The run's train config as JSON, checked on resume. */
  config: unknown;
}

export interface CheckpointContents {
  /** `backbone.*`, `head.*`, `arcface.weight`. */
  model: Map<string, TensorData>;
  /** `<param>.exp_avg`, `<param>.exp_avg_sq`. */
  optimizer: Map<string, TensorData>;
  state: TrainingState;
}

export function stepDirName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

/** Write one checkpoint atomically, point latest.json at it, and prune old ones beyond `keep`. Returns its directory. */
export function writeCheckpoint(outDir: string, contents: CheckpointContents, keep: number): string {
  const root = join(outDir, CHECKPOINTS_DIR);
  mkdirSync(root, { recursive: true });
  const name = stepDirName(contents.state.step);
  const tmp = join(root, `.${name}.${process.pid}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  writeSafetensors(join(tmp, 'model.safetensors'), toRecords(contents.model), { format: 'anopatch-train-model' });
  writeSafetensors(join(tmp, 'optimizer.safetensors'), toRecords(contents.optimizer), { format: 'anopatch-adamw' });
  writeJsonAtomic(join(tmp, 'state.json'), contents.state);
  const final = join(root, name);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  writeJsonAtomic(join(root, LATEST_JSON), { step: contents.state.step, dir: name });
  const old = readdirSync(root)
    .filter((d) => /^step-\d{8}$/.test(d))
    .sort();
  for (const d of old.slice(0, Math.max(0, old.length - keep))) rmSync(join(root, d), { recursive: true, force: true });
  return final;
}

/** The latest checkpoint of a run, or undefined when it has none. */
export function latestCheckpoint(outDir: string): string | undefined {
  const latest = join(outDir, CHECKPOINTS_DIR, LATEST_JSON);
  if (!existsSync(latest)) return undefined;
  let parsed: { dir?: unknown };
  try {
    parsed = JSON.parse(readFileSync(latest, 'utf8')) as { dir?: unknown };
  } catch (err) {
    throw new CheckpointError(latest, `not valid JSON (${(err as Error).message})`);
  }
  if (typeof parsed.dir !== 'string' || !/^step-\d{8}$/.test(parsed.dir)) throw new CheckpointError(latest, 'has no valid "dir" entry');
  const dir = join(outDir, CHECKPOINTS_DIR, parsed.dir);
  if (!existsSync(dir)) throw new CheckpointError(dir, 'latest.json points to a checkpoint directory that does not exist');
  return dir;
}

export function readCheckpoint(dir: string): CheckpointContents {
  for (const f of ['model.safetensors', 'optimizer.safetensors', 'state.json']) {
    if (!existsSync(join(dir, f))) throw new CheckpointError(dir, `incomplete checkpoint: ${f} is missing`);
  }
  const statePath = join(dir, 'state.json');
  let state: TrainingState;
  try {
    state = JSON.parse(readFileSync(statePath, 'utf8')) as TrainingState;
  } catch (err) {
    throw new CheckpointError(statePath, `not valid JSON (${(err as Error).message})`);
  }
  if (state.version !== 1 || !Number.isInteger(state.step)) throw new CheckpointError(statePath, 'not a version 1 training state');
  const modelPath = join(dir, 'model.safetensors');
  const optPath = join(dir, 'optimizer.safetensors');
  return {
    model: fromRecords(readSafetensors(modelPath).tensors, modelPath),
    optimizer: fromRecords(readSafetensors(optPath).tensors, optPath),
    state,
  };
}
