import { join } from 'node:path';

import type { TrainConfigOverrides } from '@anopatch/anopatch';
import type { SynthOptions } from '@anopatch/dcase-synth';

import { PAPER_HYPERPARAMETERS } from '../paper/index.js';

export type SyntheticSize = 'tiny' | 'small';
export const SYNTHETIC_SIZES: readonly SyntheticSize[] = ['tiny', 'small'];

/** Said in every synthetic run's output, results.md and results.json. */
export const SYNTHETIC_NOTE =
  'SYNTHETIC RUN: dcase-synth data and tiny randomly initialised backbones, a handful of fine-tuning steps. These numbers exercise the protocol end to end; they are NOT comparable with the paper.';

/** dcase-synth sets of the synthetic runs: few types, 2 IDs / sections, 1-2 s clips. */
export function syntheticDataset(edition: 2020 | 2023, size: SyntheticSize): SynthOptions {
  const clips = size === 'tiny' ? { trainPerMachine: 8, testNormalPerMachine: 5, testAnomalyPerMachine: 5, clipSeconds: 1 } : { trainPerMachine: 20, testNormalPerMachine: 10, testAnomalyPerMachine: 10, clipSeconds: 2 };
  if (edition === 2020) {
    return { edition, seed: 0, machineTypes: size === 'tiny' ? ['fan', 'valve'] : ['fan', 'pump', 'valve'], idsPerType: 2, ...clips };
  }
  return {
    edition,
    seed: 0,
    machineTypes: size === 'tiny' ? ['fan', 'valve'] : ['fan', 'gearbox', 'valve'],
    evalMachineTypes: size === 'tiny' ? ['bandsaw', 'shaker'] : ['bandsaw', 'grinder', 'shaker'],
    targetTrainPerSection: 3,
    ...clips,
    // 2023 tests are per domain: halve them so the two sizes keep the 2020 clip counts
    testNormalPerMachine: Math.ceil(clips.testNormalPerMachine / 2) + 1,
    testAnomalyPerMachine: Math.ceil(clips.testAnomalyPerMachine / 2) + 1,
  };
}

/** Where a synthetic set lives under the output folder (shared by the tables of one edition). */
export function syntheticDataDir(out: string, edition: 2020 | 2023, size: SyntheticSize): string {
  return join(out, 'data', `dcase${edition}-${size}`);
}

/**
 * Table 4 hyper-parameters scaled to a synthetic run: the paper's optimiser, ArcFace and SpecAugment
 * (freq 40 / 80, time 80; none for Table 3), a handful of steps on short crops.
 */
export function syntheticTrainConfig(edition: 2020 | 2023, size: SyntheticSize, specAugment: boolean): TrainConfigOverrides {
  const frames = size === 'tiny' ? 96 : 192;
  return {
    totalSteps: size === 'tiny' ? 4 : 12,
    warmupSteps: 1,
    lr: 1e-3,
    batchSize: 8,
    gradAccum: 1,
    crop: { frames },
    specAugment: specAugment ? { freqMaskParam: edition === 2023 ? 80 : 40, timeMaskParam: Math.min(PAPER_HYPERPARAMETERS.dcase2020.specaug_time, frames / 2), numFreqMasks: 1, numTimeMasks: 1 } : null,
    checkpointEvery: 2,
    keepCheckpoints: 1,
    seed: 0,
  };
}

/** Table 4 as trainer overrides (real runs); flags may lower steps / batch / crop for memory or time. */
export function paperTrainOverrides(edition: 2020 | 2023, specAugment: boolean, flags: { steps?: number; batchSize?: number; gradAccum?: number; cropFrames?: number } = {}): TrainConfigOverrides {
  const hp = PAPER_HYPERPARAMETERS;
  const aug = edition === 2020 ? hp.dcase2020 : hp.dcase2023;
  return {
    lr: hp.lr,
    // a shortened run keeps the paper's warmup fraction (960 / 10 000)
    warmupSteps: flags.steps === undefined ? hp.warmup_steps : Math.round((flags.steps * hp.warmup_steps) / hp.total_steps),
    totalSteps: flags.steps ?? hp.total_steps,
    batchSize: flags.batchSize ?? hp.batch_size,
    gradAccum: flags.gradAccum ?? hp.grad_accumulation,
    ...(flags.cropFrames !== undefined ? { crop: { frames: flags.cropFrames } } : {}),
    specAugment: specAugment ? { freqMaskParam: aug.specaug_freq, timeMaskParam: aug.specaug_time, numFreqMasks: 1, numTimeMasks: 1 } : null,
  };
}
