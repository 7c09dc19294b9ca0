import { buildOnnxModel } from '@anopatch/onnx-engine';
import { describe, expect, it } from 'vitest';

import { measureOnnxSpeed, syntheticFbank } from './onnx.js';

function scaled(factor: number): Uint8Array {
  return buildOnnxModel({
    weights: new Map(),
    inputs: [{ name: 'fbank', shape: ['batch', 'frames', 128] }],
    forward: (ops, [x]) => ({ tokens: ops.mul(x!, ops.scalar(factor)) }),
  }).toBytes();
}

describe('measureOnnxSpeed', () => {
  it('times every model on the same input and compares outputs with the first', async () => {
    const r = await measureOnnxSpeed({
      models: [
        { name: 'ref', model: scaled(1) },
        { name: 'double', model: scaled(2) },
      ],
      frames: 16,
      iterations: 2,
      threads: 1,
    });
    expect(r).toMatchObject({ frames: 16, batch: 1, threads: 1 });
    expect(r.timings.map((t) => t.name)).toEqual(['ref', 'double']);
    for (const t of r.timings) {
      expect(t.secondsPerRun).toHaveLength(2);
      expect(t.clipsPerSecond).toBeCloseTo(1 / t.medianSeconds, 9);
      expect(t.outputShape).toEqual([1, 16, 128]);
      expect(t.executionProvider).toBe('cpu');
    }
    expect(r.timings[0]!.maxAbsDiff).toBe(0);
    // 2x - x = x: the largest difference is the largest input value, i.e. relative to max 1
    const input = syntheticFbank(16);
    expect(r.timings[1]!.maxAbsDiff).toBeCloseTo(Math.max(...Array.from(input, Math.abs)), 6);
    expect(r.timings[1]!.relToMax).toBeCloseTo(1, 6);
  });
});
