import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { loadAudio16k, presetFbank } from '@anopatch/audio-features';
import { encodeNpy, readTorchCheckpoint, writeFileAtomic } from '@anopatch/checkpoint';
import { buildOnnxModel, OnnxModelLoadError, OnnxSession, type OnnxValue } from '@anopatch/onnx-engine';
import { createTfParams, fromTensorData, initBackend, TfOps, toTensorData, type TensorData } from '@anopatch/runtime';
import { createBackbone, loadBeatsCheckpoint, type Backbone, type LoadedWeights } from '@anopatch/vit-backbone';
import { Option, type Command } from 'commander';

/** An output file of `tokens` exists and --force was not given (never overwrite a user's file silently). */
export class TokensOutputExistsError extends Error {
  override name = 'TokensOutputExistsError';
}

interface TokensOptions {
  backbone: string;
  weights: string;
  out: string;
  allLayers?: boolean;
  force?: boolean;
  engine?: 'onnx' | 'tfjs';
}

/** The backbone lowered to ONNX and run once in onnxruntime-node; the requested taps are graph outputs. */
async function tokensOnnx(backbone: Backbone, weights: ReadonlyMap<string, TensorData>, input: TensorData, names: readonly string[]): Promise<Map<string, TensorData>> {
  const shape = input.shape.length === 3 ? ['batch', 'frames', input.shape[2]!] : ['batch', 'samples'];
  const builder = buildOnnxModel({
    weights,
    inputs: [{ name: 'input', shape }],
    forward: (ops, [x]) => {
      const out: Record<string, OnnxValue> = {};
      const tap = (name: string, v: OnnxValue) => {
        if (name !== 'final' && names.includes(name)) out[name] = v;
      };
      out.final = backbone.forward(ops, x!, { training: false, tap });
      return out;
    },
  });
  const session = await OnnxSession.create(builder.toBytes());
  try {
    const result = await session.run({ input: { shape: input.shape, data: input.data } });
    return new Map(names.map((n) => [n, result[n] as TensorData]));
  } finally {
    await session.release();
  }
}

function openBackbone(id: string, weights: string): { backbone: Backbone } & LoadedWeights {
  // BEATs checkpoints carry their own cfg, which decides the architecture
  if (id === 'beats') return loadBeatsCheckpoint(weights);
  const backbone = createBackbone(id);
  const ck = readTorchCheckpoint(weights);
  return { backbone, ...backbone.loadWeights(ck.tensors, { source: weights }) };
}

/**
 * `anopatch tokens --backbone beats --weights <ckpt> <wav> --out <dir> [--all-layers]`: the backbone's
 * tokens of one clip as final.npy ([T, C] float32) and, with --all-layers, layer_<i>.npy; how anyone
 * checks parity with the official model from the outside.
 */
export function register(program: Command): void {
  program
    .command('tokens')
    .description("write a backbone's output tokens for one WAV: <dir>/final.npy [T, C] float32 (and layer_<i>.npy with --all-layers)")
    .argument('<wav>', 'input WAV file (mixed to mono, resampled to 16 kHz)')
    .option('--backbone <id>', 'backbone id', 'beats')
    .requiredOption('--weights <checkpoint>', 'official checkpoint (e.g. BEATs_iter3.pt)')
    .requiredOption('--out <dir>', 'output directory (created if missing)')
    .option('--all-layers', 'also write the output of every transformer layer')
    .option('--force', 'overwrite existing .npy files in --out')
    .addOption(new Option('--engine <engine>', 'onnx (onnxruntime-node) or tfjs; default onnx, tfjs where ONNX Runtime cannot load').choices(['onnx', 'tfjs']))
    .action(async (wav: string, options: TokensOptions) => {
      const { backbone, weights, unused } = openBackbone(options.backbone, options.weights);
      const names = ['final', ...(options.allLayers ? Array.from({ length: backbone.numLayers }, (_, i) => `layer_${i}`) : [])];
      const paths = names.map((n) => join(options.out, `${n}.npy`));
      if (!options.force) {
        const existing = paths.filter((p) => existsSync(p));
        if (existing.length) throw new TokensOutputExistsError(`${existing.join(', ')}: already exist${existing.length === 1 ? 's' : ''} (pass --force to overwrite)`);
      }
      if (unused.length) process.stderr.write(`${options.weights}: ${unused.length} checkpoint tensor(s) not used by ${backbone.id}: ${unused.slice(0, 5).join(', ')}${unused.length > 5 ? ', ...' : ''}\n`);
      const wave = await loadAudio16k(wav);
      let inputData: TensorData;
      if (backbone.frontEnd === 'fbank') {
        const fb = presetFbank(wave, backbone.fbankPreset ?? 'beats', { source: wav });
        inputData = { shape: [1, fb.frames, fb.bins], data: fb.data };
      } else {
        inputData = { shape: [1, wave.length], data: wave };
      }
      let taps: Map<string, TensorData> | undefined;
      if (options.engine !== 'tfjs') {
        try {
          taps = await tokensOnnx(backbone, weights, inputData, names);
        } catch (err) {
          if (options.engine === 'onnx' || !(err instanceof OnnxModelLoadError)) throw err;
          process.stderr.write(`ONNX Runtime could not load the model (${err.message}); using TF.js\n`);
        }
      }
      if (!taps) {
        const tfTaps = new Map<string, TensorData>();
        await initBackend();
        const ops = new TfOps(createTfParams(backbone.paramSpecs(), { loaded: weights, trainable: false }));
        const pending: Promise<void>[] = [];
        backbone.forward(ops, fromTensorData(inputData), {
          training: false,
          tap: (name, value) => {
            if (names.includes(name)) pending.push(toTensorData(value).then((d) => void tfTaps.set(name, d)));
          },
        });
        await Promise.all(pending);
        taps = tfTaps;
      }
      await mkdir(options.out, { recursive: true });
      for (const [i, name] of names.entries()) {
        const d = taps.get(name)!;
        const shape = d.shape.slice(1); // one clip: drop the batch axis
        writeFileAtomic(paths[i]!, encodeNpy({ dtype: 'float32', shape, data: d.data }));
      }
      const final = taps.get('final')!;
      process.stdout.write(`${options.out}: ${names.length} file(s), tokens float32 [${final.shape.slice(1).join(', ')}] (${backbone.id})\n`);
    });
}
