import { resolve } from 'node:path';

import { Option, type Command } from 'commander';

import { UsageError } from '../errors.js';
import { editionOption } from '../lib/flags.js';
import { interruptOnSigint } from '../lib/interrupt.js';
import { ProgressReporter } from '../lib/progress.js';

interface SynthFlags {
  edition: '2020' | '2023';
  out: string;
  size: 'tiny' | 'demo' | 'small' | 'large';
  types?: string;
  evalTypes?: string;
  seed: string;
  clipSeconds?: string;
  force?: boolean;
  json?: boolean;
}

/** `anopatch synth`: a deterministic synthetic DCASE 2020 / 2023 set (the demo's data, any size). */
export function register(program: Command): void {
  program
    .command('synth')
    .description('write a deterministic synthetic DCASE 2020 / 2023 Task 2 set (official layout, names, attributes and ground truth; no download)')
    .addOption(editionOption())
    .requiredOption('--out <dir>', 'dataset root: dev_data/, eval_data/, ground_truth/, manifest.json')
    .addOption(new Option('--size <preset>', 'tiny (CI), demo, small, large (10 s clips, a few thousand)').choices(['tiny', 'demo', 'small', 'large']).default('tiny'))
    .option('--types <list>', 'machine types of the dev split (comma-separated; default: all of the edition)')
    .option('--eval-types <list>', 'machine types of the eval split (default: 2020 the dev types, 2023 the 2023 eval types)')
    .option('--seed <n>', 'seed: the same seed gives byte-identical files', '0')
    .option('--clip-seconds <s>', 'clip length (DCASE clips are 10 s; default from --size)')
    .option('--force', 'replace a synthetic set made with other options in --out')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (flags: SynthFlags) => {
      const { generateDataset, SYNTH_PRESETS } = await import('@anopatch/dcase-synth');
      const seed = Number(flags.seed);
      if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got '${flags.seed}'`);
      const list = (v: string | undefined): string[] | undefined => (v === undefined ? undefined : v.split(',').map((t) => t.trim()).filter(Boolean));
      const clipSeconds = flags.clipSeconds === undefined ? undefined : Number(flags.clipSeconds);
      const types = list(flags.types);
      const evalTypes = list(flags.evalTypes);
      const reporter = new ProgressReporter();
      const stop = interruptOnSigint((l) => reporter.log(l));
      try {
        const out = resolve(flags.out);
        const g = await generateDataset(
          out,
          {
            edition: flags.edition === '2020' ? 2020 : 2023,
            seed,
            ...SYNTH_PRESETS[flags.size],
            ...(types ? { machineTypes: types } : {}),
            ...(evalTypes ? { evalMachineTypes: evalTypes } : {}),
            ...(clipSeconds !== undefined ? { clipSeconds } : {}),
          },
          { onProgress: (done, total) => reporter.onProgress({ stage: 'synthesise', done, total }), signal: stop.signal, overwrite: flags.force ?? false },
        );
        const summary = {
          out,
          clips: g.clips.length,
          cached: g.cached,
          train: g.clips.filter((c) => c.set === 'train').length,
          test: g.clips.filter((c) => c.set === 'test').length,
          anomalies: g.clips.filter((c) => c.label === 'anomaly').length,
        };
        if (flags.json) process.stdout.write(JSON.stringify(summary, null, 1) + '\n');
        else process.stdout.write(`${out}: ${summary.clips} clips (${summary.train} train, ${summary.test} test of which ${summary.anomalies} anomalous)${g.cached ? ', already there' : ''}\n`);
      } finally {
        stop.dispose();
      }
    });
}
