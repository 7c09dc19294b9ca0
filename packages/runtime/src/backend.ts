import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';

import './gradients.js';

/** TensorFlow.js backends in the order we prefer them. */
export type BackendName = 'node-gpu' | 'node' | 'wasm' | 'cpu';
export const BACKEND_ORDER: readonly BackendName[] = ['node-gpu', 'node', 'wasm', 'cpu'];

export interface BackendInfo {
  /** Our name for it. */
  name: BackendName;
  /** The name TF.js registered it under ('tensorflow', 'wasm', 'cpu'). */
  tfBackend: string;
  /** Threads its kernels use (1 where it cannot say). */
  threads: number;
  /** Backends tried before this one and why they did not load. */
  skipped: { name: BackendName; reason: string }[];
}

/** An explicitly requested backend could not be loaded, or the name is not a backend. */
export class BackendUnavailableError extends Error {
  override name = 'BackendUnavailableError';
  constructor(
    readonly backend: string,
    readonly reason: string,
  ) {
    super(`TensorFlow.js backend '${backend}' is not available: ${reason}`);
  }
}

export interface InitBackendOptions {
  /** One backend (must load, else BackendUnavailableError) or an ordered list to try. */
  prefer?: BackendName | readonly BackendName[];
  /** Where to report the choice; default: nothing. */
  log?: (message: string) => void;
  /** Environment to read ANOPATCH_BACKEND from (tests pass their own). */
  env?: Record<string, string | undefined>;
  /** Module loader (tests replace it); default: dynamic import. */
  load?: (specifier: string) => Promise<unknown>;
}

const SPECIFIER: Record<BackendName, string | undefined> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};
const TF_NAME: Record<BackendName, string> = { 'node-gpu': 'tensorflow', node: 'tensorflow', wasm: 'wasm', cpu: 'cpu' };

export function isBackendName(name: string): name is BackendName {
  return (BACKEND_ORDER as readonly string[]).includes(name);
}

let current: BackendInfo | undefined;

/**
 * Pick and initialise the TensorFlow.js backend: ANOPATCH_BACKEND, else `prefer`, else the first of
 * node-gpu > node > wasm > cpu that loads. A backend named explicitly (env or a single `prefer`)
 * must load: falling back silently would make a user's GPU run quietly happen on the CPU.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const env = options.env ?? process.env;
  const load = options.load ?? loadModule;
  const fromEnv = env.ANOPATCH_BACKEND?.trim();
  let candidates: readonly BackendName[];
  let explicit: boolean;
  if (fromEnv) {
    if (!isBackendName(fromEnv)) throw new BackendUnavailableError(fromEnv, `ANOPATCH_BACKEND must be one of ${BACKEND_ORDER.join(', ')}`);
    candidates = [fromEnv];
    explicit = true;
  } else if (typeof options.prefer === 'string') {
    candidates = [options.prefer];
    explicit = true;
  } else {
    candidates = options.prefer ?? BACKEND_ORDER;
    explicit = false;
  }
  if (current && candidates.includes(current.name) && tf.getBackend() === current.tfBackend) return current;

  silenceNodeBanner();
  const skipped: BackendInfo['skipped'] = [];
  for (const name of candidates) {
    try {
      await load(SPECIFIER[name]!);
      if (!(await tf.setBackend(TF_NAME[name]))) throw new Error(`tf.setBackend('${TF_NAME[name]}') failed`);
      await tf.ready();
      silenceNodeBanner();
      current = { name, tfBackend: TF_NAME[name], threads: await threadsOf(name, load), skipped };
      options.log?.(`TensorFlow.js backend: ${name} (${current.threads} thread${current.threads === 1 ? '' : 's'})`);
      return current;
    } catch (err) {
      const reason = firstLine(err);
      if (explicit) throw new BackendUnavailableError(name, reason);
      skipped.push({ name, reason });
    }
  }
  throw new BackendUnavailableError(candidates.join('|'), skipped.map((s) => `${s.name}: ${s.reason}`).join('; '));
}

/**
 * Import a backend module. The native backends are checked for their compiled addon first: where
 * their install script could not fetch libtensorflow the package is there without it, and importing
 * it anyway registers every 'tensorflow' kernel before failing (one console warning per kernel when
 * the next native package registers them again).
 */
async function loadModule(specifier: string): Promise<unknown> {
  if (specifier === SPECIFIER.node || specifier === SPECIFIER['node-gpu']) {
    const missing = missingNativeAddon(specifier);
    if (missing) throw new Error(missing);
  }
  return import(specifier);
}

/** Why a tfjs-node(-gpu) package cannot load, or undefined when its addon is built. */
export function missingNativeAddon(specifier: string, resolveFrom: string = import.meta.url): string | undefined {
  let root: string;
  try {
    root = dirname(createRequire(resolveFrom).resolve(`${specifier}/package.json`));
  } catch {
    return `Cannot find module '${specifier}'`;
  }
  const lib = join(root, 'lib');
  const built = existsSync(lib) && readdirSync(lib).some((d) => d.startsWith('napi-v') && existsSync(join(lib, d, 'tfjs_binding.node')));
  return built ? undefined : `${specifier} is installed without its native addon (lib/napi-v*/tfjs_binding.node): its install script could not download libtensorflow`;
}

/** The backend chosen by the last initBackend call. */
export function currentBackend(): BackendInfo | undefined {
  return current;
}

async function threadsOf(name: BackendName, load: (s: string) => Promise<unknown>): Promise<number> {
  if (name === 'wasm') {
    const wasm = (await load(SPECIFIER.wasm!)) as { getThreadsCount?: () => number };
    return wasm.getThreadsCount?.() ?? 1;
  }
  if (name === 'node' || name === 'node-gpu') {
    // libtensorflow's intra-op pool uses every core unless told otherwise
    const os = await import('node:os');
    return os.availableParallelism();
  }
  return 1;
}

/** The cpu backend warns "looks like you are running TensorFlow.js in Node.js" on first use; we chose it knowingly. */
function silenceNodeBanner(): void {
  const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
  if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.trim();
}
