import { resolve } from 'node:path';

import type { TrainConfigOverrides } from '@anopatch/anopatch';
import { Option, type Command } from 'commander';

import { UsageError } from '../errors.js';
import { editionOption, modelOptions, number, positiveInt } from '../lib/flags.js';
import { interruptOnSigint } from '../lib/interrupt.js';
import { buildModel, type ModelFlags } from '../lib/model.js';
import { ProgressReporter } from '../lib/progress.js';

interface TrainFlags extends ModelFlags {
  data: string;
  edition: '2020' | '2023';
  splits: string;
  out: string;
  resume?: boolean;
  lr: string;
  warmupSteps: string;
  steps: string;
  batchSize: string;
  gradAccum: string;
  weightDecay: string;
  decay: 'cosine' | 'linear' | 'constant';
  specAugment: boolean;
  specFreq?: string;
  specTime: string;
  arcfaceScale: string;
  arcfaceMargin: string;
  cropFrames: string;
  checkpointEvery: string;
  keepCheckpoints: string;
  json?: boolean;
}

/** The paper's Table 4 as flags; defaults are the paper's values. */
export function trainOverrides(flags: TrainFlags, edition: 2020 | 2023): TrainConfigOverrides {
  const specFreq = flags.specFreq === undefined ? (edition === 2023 ? 80 : 40) : positiveInt('--spec-freq', flags.specFreq, 40);
  return {
    lr: number('--lr', flags.lr, 1e-4),
    warmupSteps: Number(flags.warmupSteps),
    totalSteps: positiveInt('--steps', flags.steps, 10_000),
    decay: flags.decay,
    batchSize: positiveInt('--batch-size', flags.batchSize, 32),
    gradAccum: positiveInt('--grad-accum', flags.gradAccum, 8),
    adamw: { weightDecay: number('--weight-decay', flags.weightDecay, 0.01) },
    specAugment: flags.specAugment ? { freqMaskParam: specFreq, timeMaskParam: positiveInt('--spec-time', flags.specTime, 80), numFreqMasks: 1, numTimeMasks: 1 } : null,
    arcface: { scale: number('--arcface-scale', flags.arcfaceScale, 30), margin: number('--arcface-margin', flags.arcfaceMargin, 0.7) },
    crop: { frames: positiveInt('--crop-frames', flags.cropFrames, 998) },
    seed: Number(flags.seed ?? 0),
    checkpointEvery: positiveInt('--checkpoint-every', flags.checkpointEvery, 500),
    keepCheckpoints: positiveInt('--keep-checkpoints', flags.keepCheckpoints, 2),
  };
}

/** `anopatch train`: fine-tune a backbone + pooling head with ArcFace on DCASE metadata classes. */
export function register(program: Command): void {
  modelOptions(
    program
      .command('train')
      .description('fine-tune backbone + attentive statistics pooling + projection with ArcFace on DCASE metadata classes (paper Table 4 defaults; checkpoints, --resume)')
      .requiredOption('--data <root>', 'dataset root (holding dev_data/ and/or eval_data/)')
      .addOption(editionOption())
      .option('--splits <list>', 'whose training clips to use (the paper: dev and eval train sets together)', 'dev,eval')
      .requiredOption('--out <run>', 'run directory: checkpoints/, train.jsonl, run.json, and the final model.json + model.safetensors'),
  )
    .option('--resume', "continue the run in --out from its latest checkpoint")
    .option('--lr <x>', 'peak learning rate (AdamW)', '1e-4')
    .option('--warmup-steps <n>', 'linear warmup steps', '960')
    .option('--steps <n>', 'optimizer steps', '10000')
    .option('--batch-size <n>', 'clips per micro-batch', '32')
    .option('--grad-accum <n>', 'micro-batches per optimizer step', '8')
    .option('--weight-decay <x>', 'AdamW weight decay', '0.01')
    .addOption(new Option('--decay <kind>', 'learning-rate decay after warmup').choices(['cosine', 'linear', 'constant']).default('cosine'))
    .option('--no-spec-augment', 'turn SpecAugment off (the paper does for Table 3)')
    .option('--spec-freq <n>', 'SpecAugment frequency mask (default 40 for 2020, 80 for 2023)')
    .option('--spec-time <n>', 'SpecAugment time mask', '80')
    .option('--arcface-scale <x>', 'ArcFace scale s', '30')
    .option('--arcface-margin <x>', 'ArcFace margin m (radians)', '0.7')
    .option('--crop-frames <n>', 'fbank frames per training example (10 s = 998)', '998')
    .option('--checkpoint-every <n>', 'optimizer steps between checkpoints', '500')
    .option('--keep-checkpoints <n>', 'checkpoints kept on disk', '2')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (flags: TrainFlags) => {
      const { dcaseTrainingSet, train } = await import('@anopatch/anopatch');
      const { scanDataset } = await import('@anopatch/dcase-eval');
      const edition = flags.edition === '2020' ? 2020 : 2023;
      const splits = flags.splits.split(',').map((s) => s.trim());
      for (const s of splits) if (s !== 'dev' && s !== 'eval') throw new UsageError(`--splits: '${s}' is not dev or eval`);
      if (!Number.isInteger(Number(flags.warmupSteps)) || Number(flags.warmupSteps) < 0) throw new UsageError(`--warmup-steps must be a non-negative integer, got '${flags.warmupSteps}'`);
      const config = trainOverrides(flags, edition);
      const reporter = new ProgressReporter();
      const scans = splits.map((split) => scanDataset(flags.data, { edition, split: split as 'dev' | 'eval' }));
      const built = await buildModel(flags);
      // the backbone's own pre-training normalisation, not a flag that could disagree with it
      const set = dcaseTrainingSet(scans, { preset: built.model.backbone.fbankPreset ?? 'beats' });
      reporter.log(`data: ${set.source.size} training clips, ${set.classNames.length} ArcFace classes (${splits.join(' + ')})`);
      reporter.log(`model: ${built.description}`);
      const stop = interruptOnSigint((l) => reporter.log(l));
      const logEvery = Math.max(1, Math.floor(config.totalSteps! / 20));
      try {
        const result = await train({
          model: built.model,
          data: set.source,
          config,
          outDir: resolve(flags.out),
          resume: flags.resume ?? false,
          classNames: set.classNames,
          signal: stop.signal,
          onProgress: (p) => {
            reporter.onProgress({ stage: 'train', done: p.step, total: p.totalSteps });
            if (p.step % logEvery === 0) reporter.log(`step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} acc ${(100 * p.accuracy).toFixed(1)}% lr ${p.lr.toExponential(2)} ${p.clipsPerSec.toFixed(1)} clips/s`);
          },
        });
        result.head.dispose();
        const summary = { out: resolve(flags.out), step: result.step, totalSteps: result.config.totalSteps, stopped: result.stopped, checkpoint: result.checkpoint, lastLoss: result.losses.at(-1) ?? null };
        if (flags.json) process.stdout.write(JSON.stringify(summary, null, 1) + '\n');
        else if (!result.stopped) process.stdout.write(`trained ${result.step} steps; model: ${summary.out}/model.json (use --model ${summary.out})\n`);
        if (result.stopped) {
          const { InterruptedError } = await import('@anopatch/anopatch');
          throw new InterruptedError(`interrupted at step ${result.step}; checkpoint ${result.checkpoint ?? '(none)'} written, continue with --resume`);
        }
      } finally {
        stop.dispose();
      }
    });
}
