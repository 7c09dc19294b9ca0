import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { BackendUnavailableError, initBackend, missingNativeAddon } from './backend.js';

const realImport = (s: string): Promise<unknown> => import(s);
/** A loader where the native backends fail exactly as they do without libtensorflow. */
function loaderWithout(missing: string[]) {
  const tried: string[] = [];
  const load = async (s: string): Promise<unknown> => {
    tried.push(s);
    if (missing.includes(s)) throw new Error(`Cannot find module '${s}'\nRequire stack: ...`);
    return realImport(s);
  };
  return { load, tried };
}

describe('initBackend', () => {
  it('tries node-gpu, then node, then wasm, and reports what it skipped', async () => {
    const { load, tried } = loaderWithout(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
    const messages: string[] = [];
    const info = await initBackend({ env: {}, load, log: (m) => messages.push(m) });
    expect(tried.slice(0, 3)).toEqual(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-backend-wasm']);
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.skipped.map((s) => s.name)).toEqual(['node-gpu', 'node']);
    expect(info.skipped[0]!.reason).toBe("Cannot find module '@tensorflow/tfjs-node-gpu'");
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(messages).toEqual([`TensorFlow.js backend: wasm (${info.threads} thread${info.threads === 1 ? '' : 's'})`]);
    // wasm actually computes
    expect(Array.from(await tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).data())).toEqual([4, 6]);
  });

  it('honours ANOPATCH_BACKEND=cpu over the default order', async () => {
    const { load } = loaderWithout([]);
    const info = await initBackend({ env: { ANOPATCH_BACKEND: 'cpu' }, load });
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('fails clearly when an explicitly requested backend cannot load, instead of falling back', async () => {
    const { load } = loaderWithout(['@tensorflow/tfjs-node-gpu']);
    const attempt = initBackend({ env: { ANOPATCH_BACKEND: 'node-gpu' }, load });
    await expect(attempt).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(initBackend({ env: {}, prefer: 'node-gpu', load })).rejects.toThrow(
      "TensorFlow.js backend 'node-gpu' is not available: Cannot find module '@tensorflow/tfjs-node-gpu'",
    );
  });

  it('rejects an unknown backend name', async () => {
    await expect(initBackend({ env: { ANOPATCH_BACKEND: 'cuda' } })).rejects.toThrow(/ANOPATCH_BACKEND must be one of node-gpu, node, wasm, cpu/);
  });

  it('tells a native package installed without its addon from a built one, without importing it', () => {
    const root = mkdtempSync(join(tmpdir(), 'anopatch-native-'));
    const pkg = join(root, 'node_modules', '@tensorflow', 'tfjs-node');
    mkdirSync(join(pkg, 'lib'), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: '@tensorflow/tfjs-node', main: 'index.js' }));
    const from = join(root, 'entry.js');
    expect(missingNativeAddon('@tensorflow/tfjs-node', from)).toBe(
      '@tensorflow/tfjs-node is installed without its native addon (lib/napi-v*/tfjs_binding.node): its install script could not download libtensorflow',
    );
    mkdirSync(join(pkg, 'lib', 'napi-v8'));
    writeFileSync(join(pkg, 'lib', 'napi-v8', 'tfjs_binding.node'), '');
    expect(missingNativeAddon('@tensorflow/tfjs-node', from)).toBeUndefined();
    expect(missingNativeAddon('@tensorflow/tfjs-node-nowhere', from)).toBe("Cannot find module '@tensorflow/tfjs-node-nowhere'");
  });

  it('tries the native backends without flooding the console with kernel re-registration warnings', async () => {
    const warnings: unknown[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args);
    try {
      const info = await initBackend({ env: {}, prefer: ['node-gpu', 'node', 'wasm'] });
      expect(['node-gpu', 'node', 'wasm']).toContain(info.name);
    } finally {
      console.warn = warn;
    }
    expect(warnings).toEqual([]);
  });
});
