import { defineConfig } from 'vitest/config';

/**
 * Tests sit next to their sources (src/**\/*.test.ts). Numerical tests on wasm are slow on 2 cores,
 * so the timeout is generous and files run in forks (TF.js backends keep global state).
 * @param {{ testTimeout?: number }} [options]
 */
export function anopatchVitest(options = {}) {
  return defineConfig({
    test: {
      include: ['src/**/*.test.ts'],
      environment: 'node',
      pool: 'forks',
      testTimeout: options.testTimeout ?? 120_000,
      hookTimeout: 120_000,
      reporters: process.env.CI ? ['default'] : ['default'],
    },
  });
}
