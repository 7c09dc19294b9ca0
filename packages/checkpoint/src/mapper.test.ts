import { describe, expect, it } from 'vitest';

import { StateDictMismatchError } from './errors.js';
import { assertMappingComplete, formatMappingReport, permute, StateDictMapper, transpose2d } from './mapper.js';
import { type TensorRecord } from './tensor.js';

const f32 = (shape: number[], values?: number[]): TensorRecord => ({
  dtype: 'float32',
  shape,
  data: Float32Array.from(values ?? Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i)),
});

describe('StateDictMapper', () => {
  const source = new Map<string, TensorRecord>([
    ['encoder.layers.0.fc1.weight', f32([4, 2])],
    ['encoder.layers.0.fc1.bias', f32([4])],
    ['encoder.layers.1.fc1.weight', f32([4, 3])],
    ['label_embedding.weight', f32([5])],
    ['predictor.weight', f32([2])],
  ]);
  const mapper = new StateDictMapper({
    rules: [
      { from: /^encoder\.layers\.(\d+)\./, to: 'blocks.$1.' },
      { from: /\.fc1\.weight$/, to: '.fc1.kernel', transform: transpose2d },
    ],
    ignore: [/^predictor\./],
  });

  it('renames, transforms, checks shapes and reports unused and missing names', () => {
    const report = mapper.map(source, {
      'blocks.0.fc1.kernel': [2, 4],
      'blocks.0.fc1.bias': [4],
      'blocks.1.fc1.kernel': [2, 4],
      'blocks.1.fc1.bias': [4],
    });
    expect([...report.mapped.keys()]).toEqual(['blocks.0.fc1.kernel', 'blocks.0.fc1.bias']);
    expect(Array.from(report.mapped.get('blocks.0.fc1.kernel')!.data as Float32Array)).toEqual([0, 2, 4, 6, 1, 3, 5, 7]);
    expect(report.sources.get('blocks.0.fc1.bias')).toBe('encoder.layers.0.fc1.bias');
    expect(report.unused).toEqual(['label_embedding.weight']);
    expect(report.ignored).toEqual(['predictor.weight']);
    expect(report.missing).toEqual(['blocks.1.fc1.bias']);
    expect(report.shapeMismatches).toEqual([{ target: 'blocks.1.fc1.kernel', source: 'encoder.layers.1.fc1.weight', expected: [2, 4], actual: [3, 4] }]);
    expect(report.ok).toBe(false);
    expect(formatMappingReport(report)).toContain('missing 1: blocks.1.fc1.bias');
    expect(() => assertMappingComplete(report, 'beats.pt')).toThrow(StateDictMismatchError);
    expect(() => assertMappingComplete(report, 'beats.pt')).toThrow(/beats\.pt: .*missing blocks\.1\.fc1\.bias/);
  });

  it('accepts optional targets and flags two sources landing on one target', () => {
    const m = new StateDictMapper({ rules: [{ from: 'module.', to: '' }] });
    const report = m.map(new Map([['module.a', f32([1])], ['a', f32([1])]]), { a: [1], b: [2] }, { optional: ['b'] });
    expect(report.missing).toEqual([]);
    expect(report.duplicates).toEqual([['a', ['module.a', 'a']]]);
    expect(report.ok).toBe(false);
  });

  it('permutes axes like torch.permute', () => {
    const t = permute(f32([2, 3, 4]), [2, 0, 1]);
    expect(t.shape).toEqual([4, 2, 3]);
    // out[k, i, j] = in[i, j, k] = i*12 + j*4 + k
    expect((t.data as Float32Array)[1 * 6 + 1 * 3 + 2]).toBe(1 * 12 + 2 * 4 + 1);
  });
});
