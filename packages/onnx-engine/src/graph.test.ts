import { describe, expect, it } from 'vitest';

import { maxAbsDiff } from '@anopatch/test-fixtures';

import { runOnnx, seeded } from './__tests__/run-onnx.js';
import { MissingParameterError, OnnxLoweringError } from './errors.js';
import { OnnxGraphBuilder, type OnnxValue } from './graph.js';

// Elementwise float32 ops against double-precision JS: tolerance 1e-6 absolute.
const TOL = 1e-6;

function erf(x: number): number {
  // Abramowitz-Stegun 7.1.26 is too coarse for 1e-6; use the series / continued fraction split.
  const t = Math.abs(x);
  if (t < 2.5) {
    let sum = 0;
    let term = t;
    for (let n = 0; n < 60; n++) {
      sum += term / (2 * n + 1);
      term *= (-t * t) / (n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = 0;
  for (let n = 60; n >= 1; n--) f = (n / 2) / (t + f);
  return Math.sign(x) * (1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f));
}

describe('OnnxGraphBuilder elementwise ops through ONNX Runtime', () => {
  const x = seeded(24, 1, 2);
  const y = seeded(6, 2, 2);
  const xIn = { name: 'x', shape: ['b', 4, 6] as (string | number)[], value: { shape: [1, 4, 6], data: x } };
  const yIn = { name: 'y', shape: [6], value: { shape: [6], data: y } };

  const binaries: [string, (a: number, b: number) => number][] = [
    ['add', (a, b) => a + b],
    ['sub', (a, b) => a - b],
    ['mul', (a, b) => a * b],
    ['div', (a, b) => a / b],
    ['maximum', (a, b) => Math.max(a, b)],
    ['minimum', (a, b) => Math.min(a, b)],
  ];
  for (const [op, f] of binaries) {
    it(`${op} broadcasts [1,4,6] with [6]`, async () => {
      const out = await runOnnx([xIn, yIn], (ops, [a, b]) => {
        const fn = ops[op as 'add'].bind(ops);
        return fn(a!, b!);
      });
      expect(out.shape).toEqual([1, 4, 6]);
      const want = Array.from(x, (v, i) => f(v, y[i % 6]!));
      expect(maxAbsDiff(out.data, want) / Math.max(1, ...want.map(Math.abs))).toBeLessThan(TOL);
    });
  }

  const unaries: [string, (a: number) => number, (v: number) => number][] = [
    ['neg', (a) => -a, (v) => v],
    ['abs', Math.abs, (v) => v],
    ['exp', Math.exp, (v) => v],
    ['log', Math.log, (v) => Math.abs(v) + 0.1],
    ['sqrt', Math.sqrt, (v) => Math.abs(v)],
    ['floor', Math.floor, (v) => v * 3],
    ['tanh', Math.tanh, (v) => v],
    ['sigmoid', (a) => 1 / (1 + Math.exp(-a)), (v) => v],
    ['relu', (a) => Math.max(a, 0), (v) => v],
    ['erf', erf, (v) => v],
    ['gelu', (a) => 0.5 * a * (1 + erf(a / Math.SQRT2)), (v) => v * 2],
  ];
  for (const [op, f, domain] of unaries) {
    it(`${op} matches the double-precision definition`, async () => {
      const data = Float32Array.from(x, domain);
      const out = await runOnnx([{ ...xIn, value: { shape: [1, 4, 6], data } }], (ops, [a]) => ops[op as 'neg'].bind(ops)(a!));
      const want = Array.from(data, f);
      expect(maxAbsDiff(out.data, want)).toBeLessThan(TOL * Math.max(1, ...want.map(Math.abs)));
    });
  }

  it('pow with a constant exponent', async () => {
    const data = Float32Array.from(x, Math.abs);
    const out = await runOnnx([{ ...xIn, value: { shape: [1, 4, 6], data } }], (ops, [a]) => ops.pow(a!, 1.5));
    expect(maxAbsDiff(out.data, Array.from(data, (v) => v ** 1.5))).toBeLessThan(1e-5);
  });

  it('greater / less / where / cast select and convert', async () => {
    const out = await runOnnx([xIn, yIn], (ops, [a, b]) => {
      const g = ops.where(ops.greater(a!, b!), a!, ops.scalar(10));
      const l = ops.cast(ops.less(a!, b!), 'float32');
      return ops.add(g, l);
    });
    const want = Array.from(x, (v, i) => (v > y[i % 6]! ? v : 10) + (v < y[i % 6]! ? 1 : 0));
    expect(maxAbsDiff(out.data, want)).toBeLessThan(TOL);
  });

  it('dropout is the identity in the inference graph', async () => {
    const out = await runOnnx([xIn], (ops, [a]) => ops.dropout(a!, 0.5));
    expect(Array.from(out.data)).toEqual(Array.from(x));
  });
});

describe('OnnxGraphBuilder linear algebra, reductions and normalisation', () => {
  it('linear uses the PyTorch [out, in] layout with bias', async () => {
    const x = seeded(2 * 3 * 5, 3);
    const w = seeded(4 * 5, 4);
    const b = seeded(4, 5);
    const weights = new Map([
      ['fc.weight', { shape: [4, 5], data: w }],
      ['fc.bias', { shape: [4], data: b }],
    ]);
    const out = await runOnnx(
      [{ name: 'x', shape: [2, 't', 5], value: { shape: [2, 3, 5], data: x } }],
      (ops, [a]) => ops.linear(a!, ops.param('fc.weight'), ops.param('fc.bias')),
      weights,
    );
    expect(out.shape).toEqual([2, 3, 4]);
    const want: number[] = [];
    for (let r = 0; r < 6; r++) for (let o = 0; o < 4; o++) {
      let s = b[o]!;
      for (let i = 0; i < 5; i++) s += x[r * 5 + i]! * w[o * 5 + i]!;
      want.push(s);
    }
    expect(maxAbsDiff(out.data, want)).toBeLessThan(1e-5);
  });

  it('matMul with transposeB and broadcast batch axes', async () => {
    const a = seeded(2 * 3 * 4, 6);
    const b = seeded(5 * 4, 7);
    const out = await runOnnx(
      [
        { name: 'a', shape: [2, 3, 4], value: { shape: [2, 3, 4], data: a } },
        { name: 'b', shape: [5, 4], value: { shape: [5, 4], data: b } },
      ],
      (ops, [p, q]) => ops.matMul(p!, q!, { transposeB: true }),
    );
    expect(out.shape).toEqual([2, 3, 5]);
    const want: number[] = [];
    for (let r = 0; r < 6; r++) for (let j = 0; j < 5; j++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[r * 4 + k]! * b[j * 4 + k]!;
      want.push(s);
    }
    expect(maxAbsDiff(out.data, want)).toBeLessThan(1e-5);
  });

  it('sum / mean / max over axes, with and without keepDims', async () => {
    const x = seeded(2 * 3 * 4, 8);
    const input = [{ name: 'x', shape: [2, 't', 4] as (string | number)[], value: { shape: [2, 3, 4], data: x } }];
    const s = await runOnnx(input, (ops, [v]) => ops.sum(v!, [1], false));
    const m = await runOnnx(input, (ops, [v]) => ops.mean(v!, -1, true));
    const mx = await runOnnx(input, (ops, [v]) => ops.max(v!, [0, 1]));
    expect(s.shape).toEqual([2, 4]);
    expect(m.shape).toEqual([2, 3, 1]);
    expect(mx.shape).toEqual([4]);
    const at = (b: number, t: number, c: number) => x[(b * 3 + t) * 4 + c]!;
    const wantS = [0, 1].flatMap((b) => [0, 1, 2, 3].map((c) => at(b, 0, c) + at(b, 1, c) + at(b, 2, c)));
    const wantM = [0, 1].flatMap((b) => [0, 1, 2].map((t) => (at(b, t, 0) + at(b, t, 1) + at(b, t, 2) + at(b, t, 3)) / 4));
    const wantMx = [0, 1, 2, 3].map((c) => Math.max(...[0, 1].flatMap((b) => [0, 1, 2].map((t) => at(b, t, c)))));
    expect(maxAbsDiff(s.data, wantS)).toBeLessThan(1e-5);
    expect(maxAbsDiff(m.data, wantM)).toBeLessThan(1e-6);
    expect(maxAbsDiff(mx.data, wantMx)).toBe(0);
  });

  it('softmax and layerNorm over the last axis', async () => {
    const x = seeded(3 * 8, 9, 3);
    const g = seeded(8, 10);
    const b = seeded(8, 11);
    const weights = new Map([
      ['ln.g', { shape: [8], data: g }],
      ['ln.b', { shape: [8], data: b }],
    ]);
    const input = [{ name: 'x', shape: ['t', 8] as (string | number)[], value: { shape: [3, 8], data: x } }];
    const sm = await runOnnx(input, (ops, [v]) => ops.softmax(v!, -1));
    const ln = await runOnnx(input, (ops, [v]) => ops.layerNorm(v!, ops.param('ln.g'), ops.param('ln.b'), 1e-5), weights);
    const wantSm: number[] = [];
    const wantLn: number[] = [];
    for (let r = 0; r < 3; r++) {
      const row = Array.from(x.subarray(r * 8, r * 8 + 8));
      const mx = Math.max(...row);
      const e = row.map((v) => Math.exp(v - mx));
      const z = e.reduce((p, v) => p + v, 0);
      wantSm.push(...e.map((v) => v / z));
      const mu = row.reduce((p, v) => p + v, 0) / 8;
      const varr = row.reduce((p, v) => p + (v - mu) ** 2, 0) / 8;
      wantLn.push(...row.map((v, i) => ((v - mu) / Math.sqrt(varr + 1e-5)) * g[i]! + b[i]!));
    }
    expect(maxAbsDiff(sm.data, wantSm)).toBeLessThan(1e-6);
    expect(maxAbsDiff(ln.data, wantLn)).toBeLessThan(1e-5);
  });
});

describe('OnnxGraphBuilder shape ops on a dynamic axis', () => {
  const x = Float32Array.from({ length: 2 * 5 * 3 }, (_, i) => i);
  const input = [{ name: 'x', shape: ['b', 't', 3] as (string | number)[], value: { shape: [2, 5, 3], data: x } }];

  it('reshape with 0 and -1, then transpose', async () => {
    const out = await runOnnx(input, (ops, [v]) => ops.transpose(ops.reshape(v!, [0, -1]), [1, 0]));
    expect(out.shape).toEqual([15, 2]);
    expect(out.data[1]).toBe(15);
    expect(out.data[2 * 7 + 1]).toBe(22);
  });

  it('slice with negative start, and to the end', async () => {
    const a = await runOnnx(input, (ops, [v]) => ops.slice(v!, 1, 1, -1));
    const b = await runOnnx(input, (ops, [v]) => ops.slice(v!, -1, 2));
    expect(a.shape).toEqual([2, 3, 3]);
    expect(Array.from(a.data.subarray(0, 3))).toEqual([3, 4, 5]);
    expect(b.shape).toEqual([2, 5, 1]);
    expect(Array.from(b.data.subarray(0, 3))).toEqual([2, 5, 8]);
  });

  it('concat along the channel axis', async () => {
    const out = await runOnnx(input, (ops, [v]) => ops.concat([v!, ops.neg(v!)], 2));
    expect(out.shape).toEqual([2, 5, 6]);
    expect(Array.from(out.data.subarray(6, 12))).toEqual([3, 4, 5, -3, -4, -5]);
  });

  it('truncateToMultiple drops the trailing remainder of a dynamic axis', async () => {
    const out = await runOnnx(input, (ops, [v]) => ops.truncateToMultiple(v!, 1, 2));
    expect(out.shape).toEqual([2, 4, 3]);
    expect(Array.from(out.data.subarray(12, 15))).toEqual([15, 16, 17]);
  });

  it('range gives int32 positions of a dynamic axis; gather picks rows', async () => {
    const pos = await runOnnx(input, (ops, [v]) => ops.range(v!, 1));
    expect(pos.data).toBeInstanceOf(Int32Array);
    expect(Array.from(pos.data)).toEqual([0, 1, 2, 3, 4]);
    const table = new Map([['emb', { shape: [6, 2], data: Float32Array.from({ length: 12 }, (_, i) => i * 10) }]]);
    const rev = await runOnnx(
      input,
      (ops, [v]) => {
        const p = ops.range(v!, 1);
        const r = ops.sub(ops.scalar(4, 'int32'), p);
        return ops.gather(ops.param('emb'), r, 0);
      },
      table,
    );
    expect(rev.shape).toEqual([5, 2]);
    expect(Array.from(rev.data)).toEqual([80, 90, 60, 70, 40, 50, 20, 30, 0, 10]);
  });

  it('conv1d: grouped, padded, channels-last, with bias', async () => {
    const cin = 4;
    const cout = 4;
    const groups = 2;
    const k = 3;
    const t = 6;
    const xs = seeded(t * cin, 12);
    const w = seeded(cout * (cin / groups) * k, 13);
    const bias = seeded(cout, 14);
    const weights = new Map([
      ['c.w', { shape: [cout, cin / groups, k], data: w }],
      ['c.b', { shape: [cout], data: bias }],
    ]);
    const out = await runOnnx(
      [{ name: 'x', shape: [1, 't', cin], value: { shape: [1, t, cin], data: xs } }],
      (ops, [v]) => ops.conv1d(v!, ops.param('c.w'), { groups, padding: 1, bias: ops.param('c.b') }),
      weights,
    );
    expect(out.shape).toEqual([1, t, cout]);
    const want: number[] = [];
    const cpg = cin / groups;
    const opg = cout / groups;
    for (let ti = 0; ti < t; ti++) for (let o = 0; o < cout; o++) {
      const g = Math.floor(o / opg);
      let s = bias[o]!;
      for (let c = 0; c < cpg; c++) for (let kk = 0; kk < k; kk++) {
        const src = ti + kk - 1;
        if (src >= 0 && src < t) s += w[(o * cpg + c) * k + kk]! * xs[src * cin + g * cpg + c]!;
      }
      want.push(s);
    }
    expect(maxAbsDiff(out.data, want)).toBeLessThan(1e-5);
  });
});

describe('OnnxGraphBuilder softmax of max-shifted scores', () => {
  it('drops an explicit (s - max s) * c before softmax: same values, no ReduceMax / Sub left', async () => {
    const s = seeded(2 * 3 * 7, 40, 4);
    const bias = seeded(3 * 7, 41);
    const input = [
      { name: 's', shape: [2, 3, 't'] as (string | number)[], value: { shape: [2, 3, 7], data: s } },
      { name: 'b', shape: [3, 't'] as (string | number)[], value: { shape: [3, 7], data: bias } },
    ];
    const shifted = (ops: Parameters<Parameters<typeof runOnnx>[1]>[0], x: OnnxValue, b: OnnxValue) =>
      ops.softmax(ops.add(ops.mul(ops.sub(x, ops.max(x, -1, true)), ops.scalar(32)), b), -1);
    const got = await runOnnx(input, (ops, [x, b]) => shifted(ops, x!, b!));
    const want: number[] = [];
    for (let r = 0; r < 6; r++) {
      const row = Array.from({ length: 7 }, (_, j) => 32 * s[r * 7 + j]! + bias[(r % 3) * 7 + j]!);
      const m = Math.max(...row);
      const e = row.map((v) => Math.exp(v - m));
      const z = e.reduce((p, v) => p + v, 0);
      want.push(...e.map((v) => v / z));
    }
    expect(maxAbsDiff(got.data, want)).toBeLessThan(1e-6);
    const b = new OnnxGraphBuilder({ weights: new Map() });
    b.output(shifted(b, b.input('s', [2, 3, 't']), b.input('b', [3, 't'])), 'p');
    const ops = (b.toModelProto().graph?.node ?? []).map((n) => n.opType);
    expect(ops).toEqual(['Mul', 'Add', 'Softmax', 'Identity']);
    expect(b.nodeCount).toBe(4);
  });

  it('keeps the shift when the max is over another axis', () => {
    const b = new OnnxGraphBuilder({ weights: new Map() });
    const x = b.input('s', [2, 't']);
    b.output(b.softmax(b.sub(x, b.max(x, 0, true)), -1), 'p');
    expect((b.toModelProto().graph?.node ?? []).map((n) => n.opType)).toEqual(['ReduceMax', 'Sub', 'Softmax', 'Identity']);
  });
});

describe('OnnxGraphBuilder errors and model structure', () => {
  it('names the missing parameter and the weights source', () => {
    const b = new OnnxGraphBuilder({ weights: new Map(), source: 'ckpt.pt' });
    expect(() => b.param('encoder.x')).toThrow(MissingParameterError);
    expect(() => b.param('encoder.x')).toThrow(/ckpt\.pt.*encoder\.x/);
  });

  it('refuses mismatched dtypes and non-broadcastable shapes', () => {
    const b = new OnnxGraphBuilder({ weights: new Map() });
    const x = b.input('x', [2, 3]);
    expect(() => b.add(x, b.scalar(1, 'int32'))).toThrow(OnnxLoweringError);
    expect(() => b.add(x, b.constant([1, 2], [2]))).toThrow(/do not broadcast/);
  });

  it('writes opset 17 / IR 8, a dynamic input dim and stores a linear weight only pre-transposed', () => {
    const w = seeded(6, 1);
    const b = new OnnxGraphBuilder({ weights: new Map([['fc.weight', { shape: [2, 3], data: w }]]), metadata: { backbone: 'test' } });
    const x = b.input('x', ['batch', 3]);
    b.output(b.linear(x, b.param('fc.weight')), 'y');
    const m = b.toModelProto();
    expect(m.irVersion).toBe(8);
    expect(m.opsetImport[0]?.version).toBe(17);
    expect(m.metadataProps).toEqual([expect.objectContaining({ key: 'backbone', value: 'test' })]);
    expect(m.graph?.input?.[0]?.type?.tensorType?.shape?.dim?.[0]?.dimParam).toBe('batch');
    const inits = m.graph?.initializer ?? [];
    expect(inits.map((t) => t.name)).toEqual(['fc.weight::T']);
    const data = new Float32Array(Uint8Array.from(inits[0]?.rawData ?? []).buffer);
    expect(Array.from(data)).toEqual([w[0], w[3], w[1], w[4], w[2], w[5]]);
  });
});
