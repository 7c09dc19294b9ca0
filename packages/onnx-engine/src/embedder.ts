import type { TensorData } from '@anopatch/runtime';

import { OnnxInputError } from './errors.js';
import { getWarmSession, OnnxSession, type OnnxSessionOptions } from './session.js';

export interface OnnxEmbedderOptions extends OnnxSessionOptions {
  /** An exported model file (kept warm per path) or its bytes. */
  model: string | Uint8Array;
  /** Graph input name; default: the model's only input. */
  inputName?: string;
  /** Graph output to return; default: the model's first output. */
  outputName?: string;
  /** Most clips per run; clips are batched only with clips of the same length. Default 8. */
  batchSize?: number;
}

/** Runs an exported AnoPatch/backbone model on per-clip features [frames, mel] in equal-length batches. */
export interface OnnxEmbedder {
  readonly session: OnnxSession;
  readonly inputName: string;
  readonly outputName: string;
  /** One result per clip, in input order: the output with its batch axis removed. */
  embed(clips: readonly TensorData[]): Promise<TensorData[]>;
  release(): Promise<void>;
}

export async function createOnnxEmbedder(options: OnnxEmbedderOptions): Promise<OnnxEmbedder> {
  const session = typeof options.model === 'string' ? await getWarmSession(options.model, options) : await OnnxSession.create(options.model, options);
  const inputName = options.inputName ?? session.inputNames[0]!;
  const outputName = options.outputName ?? session.outputNames[0]!;
  if (!session.inputNames.includes(inputName)) {
    throw new OnnxInputError(session.source, `model has no input "${inputName}" (inputs: ${session.inputNames.join(', ')})`);
  }
  if (!session.outputNames.includes(outputName)) {
    throw new OnnxInputError(session.source, `model has no output "${outputName}" (outputs: ${session.outputNames.join(', ')})`);
  }
  if (session.inputNames.length !== 1) {
    throw new OnnxInputError(session.source, `an embedder needs a single-input model, this one has ${session.inputNames.join(', ')}`);
  }
  const batchSize = Math.max(1, options.batchSize ?? 8);
  const owned = typeof options.model !== 'string';

  return {
    session,
    inputName,
    outputName,
    async embed(clips) {
      const results: TensorData[] = new Array<TensorData>(clips.length);
      const byShape = new Map<string, number[]>();
      clips.forEach((c, i) => {
        const key = c.shape.join('x');
        const group = byShape.get(key);
        if (group) group.push(i);
        else byShape.set(key, [i]);
      });
      for (const [, indices] of byShape) {
        for (let start = 0; start < indices.length; start += batchSize) {
          const batch = indices.slice(start, start + batchSize);
          const itemShape = clips[batch[0]!]!.shape;
          const itemSize = itemShape.reduce((p, d) => p * d, 1);
          const data = new Float32Array(itemSize * batch.length);
          batch.forEach((ci, j) => data.set(clips[ci]!.data, j * itemSize));
          const out = await session.run({ [inputName]: { shape: [batch.length, ...itemShape], data } }, [outputName]);
          const y = out[outputName]!;
          const outItemShape = y.shape.slice(1);
          const outSize = outItemShape.reduce((p, d) => p * d, 1);
          batch.forEach((ci, j) => {
            results[ci] = { shape: outItemShape, data: Float32Array.from(y.data.subarray(j * outSize, (j + 1) * outSize)) };
          });
        }
      }
      return results;
    },
    async release() {
      if (owned) await session.release();
    },
  };
}
