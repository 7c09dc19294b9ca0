import { existsSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { f32bytes, int, pk, str, tensorPickle, torchZip } from './__tests__/craft.js';
import { PickleFormatError, StorageTruncatedError, TensorLayoutError, UnsafePickleError } from './errors.js';
import { readTorchCheckpoint } from './torch.js';

/** Wrap a pickle in a torch zip and read it. */
function load(pickle: Uint8Array, storages: Record<string, Uint8Array> = {}): ReturnType<typeof readTorchCheckpoint> {
  return readTorchCheckpoint(torchZip(pickle, storages), { name: 'crafted.pt' });
}

function rejection(pickle: Uint8Array): unknown {
  try {
    load(pickle);
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('the unpickler rejects everything outside its allow-list, naming it', () => {
  const marker = '/tmp/anopatch-checkpoint-pwned-ts';
  const cases: [string, Uint8Array, string | undefined, RegExp][] = [
    ['GLOBAL posix.system + REDUCE', pk(0x80, 2, 0x63, 'posix\nsystem\n', ...str(`touch ${marker}`), 0x85, 0x52, 0x2e), 'posix.system', /'posix\.system'/],
    ['STACK_GLOBAL builtins.eval', pk(0x80, 4, 0x8c, 8, 'builtins', 0x8c, 4, 'eval', 0x93, ...str('1'), 0x85, 0x52, 0x2e), 'builtins.eval', /'builtins\.eval'/],
    ['builtins.getattr', pk(0x80, 2, 0x63, 'builtins\ngetattr\n', 0x2e), 'builtins.getattr', /'builtins\.getattr'/],
    ['INST os.system', pk(0x28, ...str('id'), 0x69, 'os\nsystem\n', 0x2e), 'os.system', /'os\.system'/],
    ['subprocess via OBJ', pk(0x28, 0x63, 'subprocess\nPopen\n', ...str('id'), 0x6f, 0x2e), 'subprocess.Popen', /'subprocess\.Popen'/],
    ['REDUCE on a string', pk(0x80, 2, ...str('x'), 0x29, 0x52, 0x2e), undefined, /REDUCE on a string/],
    ['REDUCE on a marker global', pk(0x80, 2, 0x63, 'torch\nTensor\n', 0x29, 0x52, 0x2e), 'torch.Tensor', /REDUCE on torch\.Tensor/],
    ['BUILD on a list', pk(0x80, 2, 0x5d, 0x7d, 0x62, 0x2e), undefined, /BUILD on a list/],
    ['NEWOBJ of a storage class', pk(0x80, 2, 0x63, 'torch\nFloatStorage\n', 0x29, 0x81, 0x2e), 'torch.FloatStorage', /NEWOBJ on torch\.FloatStorage/],
    ['EXT1', pk(0x80, 2, 0x82, 1, 0x2e), undefined, /EXT1/],
    ['copyreg._reconstructor of a disallowed class', pk(0x80, 2, 0x63, 'copy_reg\n_reconstructor\n', 0x63, 'torch\nTensor\n', 0x63, '__builtin__\nobject\n', 0x4e, 0x87, 0x52, 0x2e), 'torch.Tensor', /_reconstructor of torch\.Tensor/],
    ['a prototype name posing as a storage class', pk(0x80, 2, 0x63, 'torch\nconstructor\n', 0x2e), 'torch.constructor', /'torch\.constructor'/],
    ['tensor subclass', pk(0x80, 2, 0x63, 'torch._tensor\n_rebuild_from_type_v2\n', 0x63, 'torch._utils\n_rebuild_tensor_v2\n', 0x63, 'torch.nn\nBuffer\n', 0x2e), 'torch.nn.Buffer', /'torch\.nn\.Buffer'/],
  ];
  for (const [what, bytes, global, message] of cases) {
    it(what, () => {
      const err = rejection(bytes);
      expect(err).toBeInstanceOf(UnsafePickleError);
      expect((err as UnsafePickleError).global).toBe(global);
      expect((err as Error).message).toMatch(/^crafted\.pt: /);
      expect((err as Error).message).toMatch(message);
    });
  }
  it('ran nothing', () => {
    expect(existsSync(marker)).toBe(false);
  });
});

/** [[[...]]]: n EMPTY_LISTs, then n-1 APPENDs fold them into each other. */
function nestedLists(n: number): Uint8Array {
  const b = new Uint8Array(2 + 2 * n);
  b.set([0x80, 2]);
  b.fill(0x5d, 2, 2 + n);
  b.fill(0x61, 2 + n, 1 + 2 * n);
  b[1 + 2 * n] = 0x2e;
  return b;
}

describe('malformed pickles are PickleFormatErrors, without big allocations', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['BINUNICODE claiming 4 GiB', pk(0x80, 2, 0x58, 0xff, 0xff, 0xff, 0xff, 'abc'), /needs 4294967295 more bytes/],
    ['BINBYTES8 claiming 2^52', pk(0x80, 4, 0x8e, 0, 0, 0, 0, 0, 0, 0x10, 0, 'x'), /needs 4503599627370496 more bytes/],
    ['LONG4 of negative length', pk(0x80, 2, 0x8b, 0xff, 0xff, 0xff, 0xff), /negative LONG4/],
    ['no STOP', pk(0x80, 2, 0x7d), /ends without STOP/],
    ['unknown opcode', pk(0x80, 2, 0xff), /unknown opcode 0xff/],
    ['undefined memo key', pk(0x80, 2, 0x68, 9, 0x2e), /memo key 9/],
    ['stack underflow', pk(0x80, 2, 0x73, 0x2e), /stack underflow/],
    ['invalid UTF-8 text', pk(0x80, 2, 0x8c, 2, 0xe2, 0x82, 0x2e), /invalid UTF-8/],
    ['protocol 9', pk(0x80, 9, 0x2e), /unsupported pickle protocol/],
    ['200k nested lists', nestedLists(200_000), /nest deeper than 256/],
  ];
  for (const [what, bytes, message] of cases) {
    it(what, () => {
      const err = rejection(bytes);
      expect(err).toBeInstanceOf(PickleFormatError);
      expect((err as Error).message).toMatch(/^crafted\.pt: /);
      expect((err as Error).message).toMatch(message);
    });
  }
});

describe('storages and views are checked before anything is allocated', () => {
  it('a storage claiming 2^31 floats over a 16-byte data file', () => {
    const p = tensorPickle({ numel: 2 ** 31 - 1, offset: 0, size: [4], stride: [1] });
    expect(() => load(p, { '0': f32bytes([1, 2, 3, 4]) })).toThrow(StorageTruncatedError);
    expect(() => load(p, { '0': f32bytes([1, 2, 3, 4]) })).toThrow(/crafted\.pt: storage 0 holds 16 bytes but the checkpoint claims 2147483647 x float32/);
  });
  it('a storage whose data file is missing', () => {
    expect(() => load(tensorPickle({ numel: 4, offset: 0, size: [4], stride: [1] }))).toThrow(/storage 0 \(archive\/data\/0\) is missing/);
  });
  it('a view reaching past its storage', () => {
    const p = tensorPickle({ numel: 4, offset: 2, size: [2, 2], stride: [2, 1] });
    expect(() => load(p, { '0': f32bytes([1, 2, 3, 4]) })).toThrow(TensorLayoutError);
    expect(() => load(p, { '0': f32bytes([1, 2, 3, 4]) })).toThrow(/tensor w: view .* reaches element 5 of a 4-element storage/);
  });
  it('a stride-0 view that would expand a 1-element storage to 2^40 elements', () => {
    const p = tensorPickle({ numel: 1, offset: 0, size: [1 << 20, 1 << 20], stride: [0, 0] });
    expect(() => load(p, { '0': f32bytes([1]) })).toThrow(/would expand more than 16x/);
  });
  it('while a modest expand materialises', () => {
    const ck = load(tensorPickle({ numel: 2, offset: 0, size: [3, 2], stride: [0, 1] }), { '0': f32bytes([5, 6]) });
    expect(Array.from(ck.tensors.get('w')!.data as Float32Array)).toEqual([5, 6, 5, 6, 5, 6]);
  });
  it('an unsupported storage type', () => {
    expect(() => load(tensorPickle({ storage: 'ComplexFloatStorage', numel: 1, offset: 0, size: [1], stride: [1] }))).toThrow(/ComplexFloatStorage tensors are not supported/);
  });
  it('a negative size', () => {
    const p = tensorPickle({ numel: 4, offset: 0, size: [-1], stride: [1] });
    expect(() => load(p, { '0': f32bytes([1, 2, 3, 4]) })).toThrow(/non-negative integers/);
  });
  it('reads integers and text of every width', () => {
    const p = pk(0x80, 2, 0x7d, 0x28,
      ...str('a'), 0x4b, 7, ...str('b'), 0x4d, 0x34, 0x12, ...str('c'), ...int(-5), ...str('d'), 0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0x80, 0xff,
      ...str('e'), 0x49, '123\n', ...str('f'), 0x8c, 2, 'hi', ...str('g'), 0x55, 2, 'yo', ...str('h'), 0x47, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18,
      ...str('i'), 0x43, 2, 1, 2, ...str('l'), 0x55, 2, 0x80, 0x9f, ...str('n'), 0x63, '_codecs\nencode\n', 0x58, 4, 0, 0, 0, 0xc2, 0x80, 0xc3, 0xbf, ...str('latin1'), 0x86, 0x52, ...str('j'), 0x8f, 0x28, 0x4b, 1, 0x90, ...str('k'), 0x4e, ...str('o'), 0x46, '-inf\n', ...str('p'), 0x46, '2.5e-3\n',
      0x75, 0x2e);
    const ck = load(p);
    expect(ck.meta).toEqual({ a: 7, b: 0x1234, c: -5, d: '-9223372036854775808', e: 123, f: 'hi', g: 'yo', h: Math.PI, i: { $bytes: 'AQI=' }, j: [1], k: null, l: '\x80\x9f', n: { $bytes: 'gP8=' }, o: -Infinity, p: 0.0025 });
  });
});
