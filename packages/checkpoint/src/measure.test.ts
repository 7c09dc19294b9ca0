import { statSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { measureCheckpointLoad } from './measure.js';

const ref = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'reference');

describe('measureCheckpointLoad', () => {
  it('reports what it loaded (timings go to the benchmark, not asserted here)', () => {
    const path = join(ref, 'tiny_beats.pt');
    const m = measureCheckpointLoad(path);
    expect(m).toMatchObject({ path, format: 'torch-zip', fileBytes: statSync(path).size, tensors: 50, parameters: 96744 });
    expect(Number.isFinite(m.seconds)).toBe(true);
    expect(m.peakRssBytes).toBeGreaterThanOrEqual(m.rssBeforeBytes);
  });
});
