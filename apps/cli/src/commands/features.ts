import { existsSync } from 'node:fs';

import { FBANK_PRESETS, loadAudio16k, presetFbank, type FbankPresetName } from '@anopatch/audio-features';
import { encodeNpy, writeFileAtomic } from '@anopatch/checkpoint';
import { Option, type Command } from 'commander';

/** --out names an existing file and --force was not given (DESIGN.md: never overwrite a user's file silently). */
export class OutputExistsError extends Error {
  override name = 'OutputExistsError';
}

interface FeaturesOptions {
  out: string;
  raw?: boolean;
  preset: FbankPresetName;
  force?: boolean;
}

/** `anopatch features <wav> --out <file.npy> [--raw] [--preset beats|ast]`: the front end, for parity checks from outside. */
export function register(program: Command): void {
  program
    .command('features')
    .description('write the Kaldi fbank of a WAV (mixed to mono, resampled to 16 kHz) as a float32 .npy of shape [frames, bins]')
    .argument('<wav>', 'input WAV file (PCM 8/16/24/32-bit or float)')
    .requiredOption('--out <file.npy>', 'output .npy file')
    .option('--raw', 'write the log-mel fbank before the preset normalisation')
    .addOption(new Option('--preset <name>', 'backbone front end (fbank options and normalisation)').choices(Object.keys(FBANK_PRESETS)).default('beats'))
    .option('--force', 'overwrite --out if it exists')
    .action(async (wav: string, options: FeaturesOptions) => {
      if (existsSync(options.out) && !options.force) throw new OutputExistsError(`${options.out}: already exists (pass --force to overwrite)`);
      const wave = await loadAudio16k(wav);
      const fbank = presetFbank(wave, options.preset, { raw: options.raw ?? false, source: wav });
      writeFileAtomic(options.out, encodeNpy({ dtype: 'float32', shape: [fbank.frames, fbank.bins], data: fbank.data }));
      process.stdout.write(`${options.out}: float32 [${fbank.frames}, ${fbank.bins}] (${options.preset}, ${options.raw ? 'raw' : 'normalised'})\n`);
    });
}
