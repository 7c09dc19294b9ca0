import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { Option, type Command } from 'commander';

import { editionOption, engineOption, modelOptions, positiveInt } from '../lib/flags.js';
import { interruptOnSigint } from '../lib/interrupt.js';
import { buildEmbedder, buildModel, type Engine, type ModelFlags } from '../lib/model.js';
import { ProgressReporter } from '../lib/progress.js';

interface EmbedFlags extends ModelFlags {
  data: string;
  edition: '2020' | '2023';
  split: 'dev' | 'eval' | 'all';
  out: string;
  cache?: string;
  batchSize?: string;
  engine?: Engine;
  json?: boolean;
}

/** `anopatch embed`: every train and test clip of a DCASE set -> <out>/<split>/embeddings.{json,npy}. */
export function register(program: Command): void {
  modelOptions(
    program
      .command('embed')
      .description('embed every train and test clip of a DCASE set with an AnoPatch model (cached by file content + model hash; resumable)')
      .requiredOption('--data <root>', 'dataset root (holding dev_data/ and/or eval_data/)')
      .addOption(editionOption())
      .addOption(new Option('--split <split>', 'which split(s) to embed').choices(['dev', 'eval', 'all']).default('all'))
      .requiredOption('--out <dir>', 'output folder: <out>/<split>/embeddings.json + embeddings.npy'),
  )
    .option('--cache <dir>', 'embedding cache (default <out>/cache)')
    .option('--batch-size <n>', 'clips per forward pass', '8')
    .addOption(engineOption())
    .option('--json', 'print a JSON summary on stdout')
    .action(async (flags: EmbedFlags) => {
      const { DataDirError, embedSplit } = await import('@anopatch/anopatch');
      // fail before the (slow) model build when the data folder is not there
      if (!existsSync(flags.data)) throw new DataDirError(resolve(flags.data), 'data folder does not exist; pass --data <root of a DCASE set> (or run `anopatch demo` to make a synthetic one)');
      const out = resolve(flags.out);
      const reporter = new ProgressReporter();
      const built = await buildModel(flags);
      reporter.log(`model: ${built.description}`);
      const embedder = await buildEmbedder(built, {
        batchSize: positiveInt('--batch-size', flags.batchSize, 8),
        engine: flags.engine ?? 'onnx',
        explicit: flags.engine !== undefined,
        log: (l) => reporter.log(l),
      });
      reporter.log(`engine: ${embedder.engine}`);
      const edition = flags.edition === '2020' ? 2020 : 2023;
      const splits = flags.split === 'all' ? (['dev', 'eval'] as const).filter((s) => hasSplit(flags.data, s)) : [flags.split];
      // no split folder at all: let embedSplit name the missing data folder in its error
      if (splits.length === 0) splits.push('dev');
      const stop = interruptOnSigint((l) => reporter.log(l));
      const results = [];
      try {
        for (const split of splits) {
          const r = await embedSplit({
            data: flags.data,
            edition,
            split,
            out: join(out, split),
            embedder,
            cacheDir: flags.cache ?? join(out, 'cache'),
            batchSize: positiveInt('--batch-size', flags.batchSize, 8),
            onProgress: reporter.onProgress,
            signal: stop.signal,
          });
          results.push({ split, clips: r.set.clips.length, dim: r.set.dim, reused: r.reused, fromCache: r.cached, dir: join(out, split) });
        }
      } finally {
        stop.dispose();
        await embedder.release();
      }
      if (flags.json) process.stdout.write(JSON.stringify({ model: embedder.description, engine: embedder.engine, modelHash: embedder.hash, splits: results }, null, 1) + '\n');
      else for (const r of results) process.stdout.write(`${r.split}: ${r.clips} clips x ${r.dim} -> ${r.dir}/embeddings.npy (${r.fromCache} from cache)\n`);
    });
}

function hasSplit(root: string, split: 'dev' | 'eval'): boolean {
  return existsSync(join(root, `${split}_data`));
}
