import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';

import type { TensorData } from '@anopatch/runtime';
import ort from 'onnxruntime-node';

import { OnnxInputError, OnnxModelLoadError } from './errors.js';

export type ExecutionProvider = 'cuda' | 'cpu';

export interface OnnxSessionOptions {
  /** Intra-op threads; default: all cores (os.availableParallelism()). */
  threads?: number;
  /**
   * Providers to try in order. Default: ['cuda', 'cpu'] — CUDA is used when the user has
   * onnxruntime-node's CUDA provider library and a GPU, otherwise the bundled CPU provider.
   * ANOPATCH_ORT_PROVIDER=cpu|cuda overrides the default.
   */
  executionProviders?: readonly ExecutionProvider[];
  /** ONNX Runtime graph optimisation level; default 'all' (fusions such as GELU and LayerNorm). */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

/** Feeds and results: float32 tensors, or int32 where the model declares int32 inputs. */
export interface NamedTensor {
  shape: readonly number[];
  data: Float32Array | Int32Array;
}

function defaultProviders(): ExecutionProvider[] {
  const forced = process.env.ANOPATCH_ORT_PROVIDER;
  if (forced === 'cpu') return ['cpu'];
  if (forced === 'cuda') return ['cuda'];
  return cudaProviderInstalled() ? ['cuda', 'cpu'] : ['cpu'];
}

/**
 * The CUDA provider is a shared library beside the binding that only onnxruntime-node's install
 * script fetches (or the user copies in); without it asking for 'cuda' just logs an error.
 */
export function cudaProviderInstalled(): boolean {
  if (process.platform !== 'linux' || !ort.listSupportedBackends().some((b) => b.name === 'cuda')) return false;
  try {
    const main = createRequire(import.meta.url).resolve('onnxruntime-node');
    const bin = join(dirname(main), '..', 'bin', 'napi-v6', process.platform, process.arch);
    return existsSync(join(bin, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

/**
 * An onnxruntime-node InferenceSession with this project's defaults: intra-op threads = cores,
 * CUDA when available else CPU, full graph optimisation. Create once and keep it (sessions are
 * expensive to build and fast to reuse).
 */
export class OnnxSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    /** What the model was loaded from (a path, or '<bytes>'). */
    readonly source: string,
    /** The provider the session actually runs on. */
    readonly executionProvider: ExecutionProvider,
    readonly threads: number,
  ) {}

  static async create(model: string | Uint8Array, options: OnnxSessionOptions = {}): Promise<OnnxSession> {
    const source = typeof model === 'string' ? model : '<bytes>';
    const threads = options.threads ?? availableParallelism();
    const providers = [...(options.executionProviders ?? defaultProviders())];
    let lastError: unknown = null;
    for (const provider of providers) {
      if (provider === 'cuda' && providers.includes('cpu') && !cudaProviderInstalled()) continue;
      const sessionOptions: ort.InferenceSession.SessionOptions = {
        executionProviders: [provider],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
        executionMode: 'sequential',
        // a provider that cannot load is expected here (we fall back), not worth an error log line
        ...(provider === 'cpu' ? {} : { logSeverityLevel: 4 as const }),
      };
      try {
        const session =
          typeof model === 'string'
            ? await ort.InferenceSession.create(model, sessionOptions)
            : await ort.InferenceSession.create(model, sessionOptions);
        return new OnnxSession(session, source, provider, threads);
      } catch (err) {
        lastError = err;
      }
    }
    throw new OnnxModelLoadError(source, lastError instanceof Error ? lastError.message : String(lastError));
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the model; every declared input must be fed. Returns all outputs (or those named). */
  async run(feeds: Record<string, NamedTensor>, outputs?: readonly string[]): Promise<Record<string, TensorData | NamedTensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const name of this.session.inputNames) {
      const feed = feeds[name];
      if (!feed) throw new OnnxInputError(this.source, `input "${name}" was not given (model inputs: ${this.session.inputNames.join(', ')})`);
      const expected = feed.shape.reduce((p, d) => p * d, 1);
      if (feed.data.length !== expected) {
        throw new OnnxInputError(this.source, `input "${name}" has ${feed.data.length} values for shape [${feed.shape.join(',')}]`);
      }
      ortFeeds[name] =
        feed.data instanceof Int32Array ? new ort.Tensor('int32', feed.data, [...feed.shape]) : new ort.Tensor('float32', feed.data, [...feed.shape]);
    }
    for (const name of Object.keys(feeds)) {
      if (!this.session.inputNames.includes(name)) {
        throw new OnnxInputError(this.source, `unknown input "${name}" (model inputs: ${this.session.inputNames.join(', ')})`);
      }
    }
    const result = outputs ? await this.session.run(ortFeeds, [...outputs]) : await this.session.run(ortFeeds);
    const out: Record<string, TensorData | NamedTensor> = {};
    for (const [name, tensor] of Object.entries(result)) {
      const shape = tensor.dims.map(Number);
      if (tensor.type === 'float32') out[name] = { shape, data: tensor.data as Float32Array };
      else if (tensor.type === 'int32') out[name] = { shape, data: tensor.data as Int32Array };
      else out[name] = { shape, data: Float32Array.from(tensor.data as ArrayLike<number>) };
      tensor.dispose();
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

const warm = new Map<string, Promise<OnnxSession>>();

/** A session kept warm per (model path, options): repeated calls share one loaded model. */
export function getWarmSession(modelPath: string, options: OnnxSessionOptions = {}): Promise<OnnxSession> {
  const key = JSON.stringify([modelPath, options.threads ?? null, options.executionProviders ?? null, options.graphOptimizationLevel ?? null]);
  let s = warm.get(key);
  if (!s) {
    s = OnnxSession.create(modelPath, options);
    warm.set(key, s);
    s.catch(() => warm.delete(key));
  }
  return s;
}

/** Releases every warm session (e.g. before exit in long-running tools). */
export async function releaseWarmSessions(): Promise<void> {
  const all = [...warm.values()];
  warm.clear();
  for (const p of all) {
    try {
      await (await p).release();
    } catch {
      // a session that failed to load has nothing to release
    }
  }
}
