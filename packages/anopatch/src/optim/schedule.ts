import { TrainConfigError } from '../errors.js';

/** What the learning rate does after warmup. */
export type LrDecay = 'cosine' | 'linear' | 'constant';

export interface LrSchedule {
  /** Peak learning rate (reached at the end of warmup). */
  lr: number;
  /** Linear warmup from 0 over this many optimizer steps (paper: 960). */
  warmupSteps: number;
  /** Optimizer steps of the whole run (paper: 10 000); decay reaches its floor here. */
  totalSteps: number;
  /** Default 'cosine' (see learningRate). */
  decay?: LrDecay;
  /** Floor of the decay as a fraction of `lr`; default 0. */
  minLrRatio?: number;
}

/**
 * Learning rate used by optimizer step `step` (0-based), the way transformers'
 * get_{cosine,linear}_schedule_with_warmup drive torch's LambdaLR: step / warmup during warmup (so
 * step 0 runs at lr 0), then cosine or linear decay to `minLrRatio * lr` at `totalSteps`.
 * The paper states only the warmup; cosine decay is our default because it is what BEATs-style
 * fine-tuning recipes use. 'constant' keeps the peak after warmup.
 */
export function learningRate(step: number, schedule: LrSchedule): number {
  const { lr, warmupSteps, totalSteps } = schedule;
  const decay = schedule.decay ?? 'cosine';
  const floor = schedule.minLrRatio ?? 0;
  if (step < warmupSteps) return (lr * step) / Math.max(1, warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
  let factor: number;
  switch (decay) {
    case 'cosine':
      factor = 0.5 * (1 + Math.cos(Math.PI * progress));
      break;
    case 'linear':
      factor = 1 - progress;
      break;
    case 'constant':
      factor = 1;
      break;
  }
  return lr * (floor + (1 - floor) * Math.max(0, factor));
}

export function validateSchedule(schedule: LrSchedule, source = 'training config'): void {
  if (!(schedule.lr > 0)) throw new TrainConfigError(source, `lr must be > 0, got ${schedule.lr}`);
  if (!Number.isInteger(schedule.warmupSteps) || schedule.warmupSteps < 0) throw new TrainConfigError(source, `warmupSteps must be an integer >= 0, got ${schedule.warmupSteps}`);
  if (!Number.isInteger(schedule.totalSteps) || schedule.totalSteps < 1) throw new TrainConfigError(source, `totalSteps must be an integer >= 1, got ${schedule.totalSteps}`);
  const r = schedule.minLrRatio ?? 0;
  if (!(r >= 0 && r <= 1)) throw new TrainConfigError(source, `minLrRatio must be in [0, 1], got ${r}`);
}
