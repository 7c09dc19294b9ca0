import { ARCFACE_DEFAULTS, type ArcFaceVariant } from '@anopatch/arcface';
import type { SpecAugmentOptions } from '@anopatch/audio-features';

import { TrainConfigError } from '../errors.js';
import { ADAMW_DEFAULTS } from '../optim/adamw.js';
import { validateSchedule, type LrDecay } from '../optim/schedule.js';
import { cropSamplesFor, type CropPadPolicy } from './data.js';

export interface TrainConfig {
  /** Peak learning rate (paper 1e-4). */
  lr: number;
  /** Linear warmup, optimizer steps (paper 960). */
  warmupSteps: number;
  /** Optimizer steps of the run (paper 10 000). */
  totalSteps: number;
  /** Decay after warmup (default cosine to 0; the paper names only the warmup). */
  decay: LrDecay;
  minLrRatio: number;
  /** Clips per forward/backward pass (paper 32). */
  batchSize: number;
  /** Micro-batches whose gradients are summed per optimizer step (paper 8): effective batch = batchSize * gradAccum. */
  gradAccum: number;
  adamw: { beta1: number; beta2: number; eps: number; weightDecay: number };
  /**
   * SpecAugment on the normalised fbank before patching (paper: freq 40 for 2020, 80 for 2023; time 80); null = off (Table 3).
   * Waveform backbones have no fbank to mask: `train()` runs them without it and records null (Table 3 uses none for any backbone).
   */
  specAugment: SpecAugmentOptions | null;
  /** Fixed training length and how clips get there. */
  crop: CropPadPolicy;
  arcface: { scale: number; margin: number; variant: ArcFaceVariant };
  /** Training loss: 'arcface' (the paper) or 'subClusterAdaCos' (Wilkinghoff 2021; fixed centres, adaptive scale). */
  loss: 'arcface' | 'subClusterAdaCos';
  /** Sub-cluster AdaCos: sub-clusters per class (1 = AdaCos). */
  adacos: { subClusters: number };
  /** Seeds the head init, the shuffling, crops, SpecAugment, layer drop and dropout masks. */
  seed: number;
  /** Save a checkpoint every N optimizer steps (and at the end, and on interrupt). */
  checkpointEvery: number;
  /** Checkpoints kept on disk (oldest removed first). */
  keepCheckpoints: number;
}

/** The paper's recipe (DCASE 2020: SpecAugment freq 40; use `paperTrainConfig(2023)` for 80). */
export const PAPER_TRAIN_CONFIG: Readonly<TrainConfig> = Object.freeze({
  lr: 1e-4,
  warmupSteps: 960,
  totalSteps: 10_000,
  decay: 'cosine',
  minLrRatio: 0,
  batchSize: 32,
  gradAccum: 8,
  adamw: { ...ADAMW_DEFAULTS },
  specAugment: { freqMaskParam: 40, timeMaskParam: 80, numFreqMasks: 1, numTimeMasks: 1 },
  // 10 s at 16 kHz -> 998 Kaldi frames (25 ms window, 10 ms hop, snip_edges); waveform backbones crop the same audio
  crop: { frames: 998, crop: 'random', pad: 'repeat' },
  arcface: { scale: ARCFACE_DEFAULTS.scale, margin: ARCFACE_DEFAULTS.margin, variant: ARCFACE_DEFAULTS.variant },
  loss: 'arcface',
  adacos: { subClusters: 16 },
  seed: 0,
  checkpointEvery: 500,
  keepCheckpoints: 2,
}) as TrainConfig;

export type TrainConfigOverrides = Partial<Omit<TrainConfig, 'adamw' | 'crop' | 'arcface' | 'adacos'>> & {
  adamw?: Partial<TrainConfig['adamw']>;
  adacos?: Partial<TrainConfig['adacos']>;
  crop?: Partial<CropPadPolicy>;
  arcface?: Partial<TrainConfig['arcface']>;
};

/** The paper's recipe for a DCASE edition (SpecAugment frequency mask 40 for 2020, 80 for 2023) with overrides. */
export function paperTrainConfig(edition: 2020 | 2023 = 2020, overrides: TrainConfigOverrides = {}): TrainConfig {
  const base = PAPER_TRAIN_CONFIG;
  return resolveTrainConfig({ specAugment: { ...base.specAugment!, freqMaskParam: edition === 2023 ? 80 : 40 }, ...overrides });
}

/** PAPER_TRAIN_CONFIG with overrides (nested objects merged), validated. */
export function resolveTrainConfig(overrides: TrainConfigOverrides = {}, source = 'training config'): TrainConfig {
  const base = PAPER_TRAIN_CONFIG;
  const config: TrainConfig = {
    ...base,
    ...overrides,
    adamw: { ...base.adamw, ...overrides.adamw },
    crop: { ...base.crop, ...overrides.crop },
    arcface: { ...base.arcface, ...overrides.arcface },
    adacos: { ...base.adacos, ...overrides.adacos },
    specAugment: overrides.specAugment === undefined ? base.specAugment : overrides.specAugment,
  };
  validateTrainConfig(config, source);
  return config;
}

export function validateTrainConfig(c: TrainConfig, source = 'training config'): void {
  validateSchedule({ lr: c.lr, warmupSteps: c.warmupSteps, totalSteps: c.totalSteps, decay: c.decay, minLrRatio: c.minLrRatio }, source);
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw new TrainConfigError(source, `${name} must be a positive integer, got ${v}`);
  };
  positiveInt('batchSize', c.batchSize);
  positiveInt('gradAccum', c.gradAccum);
  positiveInt('checkpointEvery', c.checkpointEvery);
  positiveInt('keepCheckpoints', c.keepCheckpoints);
  positiveInt('crop.frames', c.crop.frames);
  positiveInt('crop.samples', c.crop.samples ?? cropSamplesFor(c.crop.frames));
  if (!['random', 'start'].includes(c.crop.crop)) throw new TrainConfigError(source, `crop.crop must be 'random' or 'start', got '${c.crop.crop}'`);
  if (!['repeat', 'constant'].includes(c.crop.pad)) throw new TrainConfigError(source, `crop.pad must be 'repeat' or 'constant', got '${c.crop.pad}'`);
  if (!['cosine', 'linear', 'constant'].includes(c.decay)) throw new TrainConfigError(source, `decay must be cosine, linear or constant, got '${c.decay}'`);
  const { beta1, beta2, eps, weightDecay } = c.adamw;
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) throw new TrainConfigError(source, `adamw betas must be in [0, 1), got ${beta1}, ${beta2}`);
  if (!(eps > 0) || !(weightDecay >= 0)) throw new TrainConfigError(source, `adamw eps must be > 0 and weightDecay >= 0, got ${eps}, ${weightDecay}`);
  if (!(c.arcface.scale > 0) || !(c.arcface.margin >= 0 && c.arcface.margin < Math.PI / 2)) {
    throw new TrainConfigError(source, `arcface scale must be > 0 and margin in [0, pi/2), got ${c.arcface.scale}, ${c.arcface.margin}`);
  }
  if (!['paper', 'easyMarginFalse'].includes(c.arcface.variant)) throw new TrainConfigError(source, `arcface.variant must be 'paper' or 'easyMarginFalse', got '${c.arcface.variant}'`);
  if (!['arcface', 'subClusterAdaCos'].includes(c.loss)) throw new TrainConfigError(source, `loss must be 'arcface' or 'subClusterAdaCos', got '${c.loss}'`);
  positiveInt('adacos.subClusters', c.adacos.subClusters);
  if (!Number.isInteger(c.seed)) throw new TrainConfigError(source, `seed must be an integer, got ${c.seed}`);
}
