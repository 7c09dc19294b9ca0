import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { readNpy, type NpyArray } from '@anopatch/checkpoint';

/** Directory of the reference fixtures: $ANOPATCH_FIXTURES, else `shared/fixtures/reference` beside or inside an ancestor of this package. */
export function referenceDir(): string {
  const fromEnv = process.env.ANOPATCH_FIXTURES;
  if (fromEnv) return resolve(fromEnv);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    for (const candidate of [join(dir, 'shared', 'fixtures', 'reference'), join(dir, '..', 'shared', 'fixtures', 'reference')]) {
      if (existsSync(join(candidate, 'README.md'))) return resolve(candidate);
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error('reference fixtures not found: expected ../shared/fixtures/reference beside the repository, or set ANOPATCH_FIXTURES');
}

export function referencePath(name: string): string {
  return join(referenceDir(), name);
}

export function loadReferenceNpy(name: string): NpyArray {
  return readNpy(readFileSync(referencePath(name)));
}

export function loadReferenceJson<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(referencePath(name), 'utf8')) as T;
}

type Numeric = ArrayLike<number>;

export function maxAbs(a: Numeric): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** max |a - b|; throws on length mismatch so a shape bug cannot pass as a small diff. */
export function maxAbsDiff(a: Numeric, b: Numeric): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (Number.isNaN(d)) return Number.POSITIVE_INFINITY;
    m = Math.max(m, d);
  }
  return m;
}

/** max |a - ref| / max |ref|: the "relative to max" measure DESIGN.md states backbone tolerances in. */
export function relToMax(a: Numeric, ref: Numeric): number {
  return maxAbsDiff(a, ref) / Math.max(maxAbs(ref), Number.MIN_VALUE);
}
