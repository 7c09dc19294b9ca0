/** What the command tests share (test code only; not built into dist/). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeEach } from 'vitest';

/** A temporary folder for this test file, removed after it. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface CapturedOutput {
  /** Chunks written to stdout / stderr during the current test. */
  stdout: string[];
  stderr: string[];
}

/** Captures process.stdout / process.stderr writes of each test (what `main([...])` prints), restoring them after. */
export function captureOutput(): CapturedOutput {
  const io: CapturedOutput = { stdout: [], stderr: [] };
  const writeErr = process.stderr.write.bind(process.stderr);
  const writeOut = process.stdout.write.bind(process.stdout);
  beforeEach(() => {
    io.stdout = [];
    io.stderr = [];
    process.stderr.write = (s: string | Uint8Array) => (io.stderr.push(String(s)), true);
    process.stdout.write = (s: string | Uint8Array) => (io.stdout.push(String(s)), true);
  });
  afterEach(() => {
    process.stderr.write = writeErr;
    process.stdout.write = writeOut;
  });
  return io;
}
