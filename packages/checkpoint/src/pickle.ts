import { PickleFormatError, UnsafePickleError } from './errors.js';

/**
 * A pickle virtual machine that never runs code. Values are plain JS: None -> null, bool, int ->
 * number (bigint beyond 2^53), float, str -> string, bytes -> Uint8Array, list/tuple -> Array,
 * dict -> Map, set/frozenset -> Set. A GLOBAL resolves through the caller's allow-list to a
 * `PyGlobal` whose behaviour is written here in TypeScript; every other global, and every
 * REDUCE/NEWOBJ/BUILD/INST/OBJ on something that is not an allowed global or object, throws
 * UnsafePickleError naming it.
 */

/** An allowed global: what REDUCE (`call`) and NEWOBJ/INST/OBJ (`construct`) do with it, in TS. */
export class PyGlobal {
  constructor(
    readonly qualname: string,
    readonly behaviour: {
      call?: (args: unknown[]) => unknown;
      construct?: (args: unknown[]) => unknown;
      /** a global that is a value rather than something to call (a dtype, a storage class) */
      value?: unknown;
    },
  ) {}
}

/** An instance of a config-like class (argparse.Namespace, ...): only its attributes are kept. */
export class PyObject {
  readonly attrs = new Map<string, unknown>();
  constructor(readonly className: string) {}
}

/** Objects whose BUILD (`__setstate__`) is implemented in TS. */
export interface Buildable {
  setState(state: unknown): void;
}

function isBuildable(x: unknown): x is Buildable {
  return typeof x === 'object' && x !== null && typeof (x as Partial<Buildable>).setState === 'function';
}

export interface UnpicklerOptions {
  source: string;
  resolveGlobal(module: string, name: string): PyGlobal;
  persistentLoad?(pid: unknown): unknown;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function intValue(v: bigint): number | bigint {
  return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v;
}

export function describeValue(x: unknown): string {
  if (x instanceof PyGlobal) return x.qualname;
  if (x instanceof PyObject) return `an instance of ${x.className}`;
  if (x === null) return 'None';
  if (Array.isArray(x)) return 'a list/tuple';
  if (x instanceof Map) return 'a dict';
  if (x instanceof Uint8Array) return 'bytes';
  if (typeof x === 'object') return `an object (${x.constructor.name})`;
  return `a ${typeof x}`;
}

/** BUILD on a plain object: state is a dict or (dict, slots). */
function mergeAttrs(target: PyObject, state: unknown, source: string): void {
  const parts = Array.isArray(state) && state.length === 2 ? state : [state];
  for (const part of parts) {
    if (part === null) continue;
    if (!(part instanceof Map)) throw new UnsafePickleError(`${source}: BUILD of ${target.className} with ${describeValue(part)} state`);
    for (const [k, v] of part) target.attrs.set(String(k), v);
  }
}

/**
 * True ISO-8859-1 (byte = code point). TextDecoder('latin1') is windows-1252 per the WHATWG
 * Encoding spec and would remap 0x80-0x9f.
 */
const latin1 = {
  decode(b: Uint8Array): string {
    let s = '';
    for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
    return s;
  },
};
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function unpickle(bytes: Uint8Array, options: UnpicklerOptions): unknown {
  return new Unpickler(bytes, options).load();
}

class Unpickler {
  private pos = 0;
  private stack: unknown[] = [];
  private readonly metastack: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly dv: DataView;
  private readonly source: string;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly options: UnpicklerOptions,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.source = options.source;
  }

  private fail(msg: string): never {
    throw new PickleFormatError(`${this.source}: ${msg} (pickle offset ${this.pos})`);
  }

  private need(n: number): number {
    if (n < 0 || this.pos + n > this.bytes.length) this.fail(`needs ${n} more bytes but the pickle ends`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private take(n: number): Uint8Array {
    const at = this.need(n);
    return this.bytes.subarray(at, at + n);
  }

  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) this.fail('unterminated text line');
    const s = latin1.decode(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }

  private u8(): number {
    return this.bytes[this.need(1)]!;
  }
  private u16(): number {
    return this.dv.getUint16(this.need(2), true);
  }
  private u32(): number {
    return this.dv.getUint32(this.need(4), true);
  }
  private u64(): number {
    const v = this.dv.getBigUint64(this.need(8), true);
    if (v > MAX_SAFE) this.fail(`length ${v} is absurd`);
    return Number(v);
  }

  private pop(): unknown {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack.pop();
  }
  private top(): unknown {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack[this.stack.length - 1];
  }
  private popMark(): unknown[] {
    const items = this.stack;
    const prev = this.metastack.pop();
    if (prev === undefined) this.fail('MARK expected but missing');
    this.stack = prev;
    return items;
  }

  private utf8(b: Uint8Array): string {
    try {
      return utf8.decode(b);
    } catch {
      this.fail('invalid UTF-8 in a string');
    }
  }

  /** A Python 2 str: UTF-8 as torch.load's default encoding reads it, else byte-per-character. */
  private py2str(b: Uint8Array): string {
    try {
      return utf8.decode(b);
    } catch {
      return latin1.decode(b);
    }
  }

  private decodeLong(b: Uint8Array): number | bigint {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return intValue(v);
  }

  private global(module: string, name: string): PyGlobal {
    return this.options.resolveGlobal(module, name);
  }

  private setItems(target: unknown, items: unknown[]): void {
    if (!(target instanceof Map)) throw new UnsafePickleError(`${this.source}: SETITEM(S) on ${describeValue(target)}`);
    if (items.length % 2 !== 0) this.fail('odd number of items for SETITEMS');
    for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1]);
  }

  private appendItems(target: unknown, items: unknown[]): void {
    if (Array.isArray(target)) {
      for (const x of items) target.push(x);
      return;
    }
    throw new UnsafePickleError(`${this.source}: APPEND(S) on ${describeValue(target)}`);
  }

  private construct(cls: unknown, args: unknown[], op: string): unknown {
    if (cls instanceof PyGlobal && cls.behaviour.construct) return cls.behaviour.construct(args);
    throw new UnsafePickleError(`${this.source}: ${op} on ${describeValue(cls)} is not allowed`, cls instanceof PyGlobal ? cls.qualname : undefined);
  }

  private build(inst: unknown, state: unknown): void {
    if (inst instanceof PyObject) return mergeAttrs(inst, state, this.source);
    if (isBuildable(inst)) return inst.setState(state);
    // OrderedDict state dicts carry `_metadata` (per-module versions) as instance attributes: not data
    if (inst instanceof Map) return;
    throw new UnsafePickleError(`${this.source}: BUILD on ${describeValue(inst)} is not allowed`, inst instanceof PyGlobal ? inst.qualname : undefined);
  }

  private text(quoted: string): string {
    const q = quoted.trim();
    if (q.length < 2 || (q[0] !== "'" && q[0] !== '"') || q[q.length - 1] !== q[0]) this.fail('STRING argument is not quoted');
    return q.slice(1, -1).replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, e: string) => {
      if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
      return ({ n: '\n', t: '\t', r: '\r', '0': '\0' } as Record<string, string>)[e] ?? e;
    });
  }

  load(): unknown {
    const b = this.bytes;
    for (;;) {
      if (this.pos >= b.length) this.fail('the pickle ends without STOP');
      const op = b[this.pos++]!;
      switch (op) {
        case 0x80: // PROTO
          if (this.u8() > 5) this.fail('unsupported pickle protocol');
          break;
        case 0x95: // FRAME: a length hint only
          this.u64();
          break;
        case 0x2e: // STOP
          return this.pop();
        case 0x28: // MARK
          this.metastack.push(this.stack);
          this.stack = [];
          break;
        case 0x30: // POP
          if (this.stack.length > 0) this.stack.pop();
          else this.popMark();
          break;
        case 0x31: // POP_MARK
          this.popMark();
          break;
        case 0x32: // DUP
          this.stack.push(this.top());
          break;
        case 0x4e: // NONE
          this.stack.push(null);
          break;
        case 0x88: // NEWTRUE
          this.stack.push(true);
          break;
        case 0x89: // NEWFALSE
          this.stack.push(false);
          break;
        case 0x4a: // BININT
          this.stack.push(this.dv.getInt32(this.need(4), true));
          break;
        case 0x4b: // BININT1
          this.stack.push(this.u8());
          break;
        case 0x4d: // BININT2
          this.stack.push(this.u16());
          break;
        case 0x49: {
          // INT (text); I00/I01 are the protocol-0 booleans
          const s = this.line();
          if (s === '00') this.stack.push(false);
          else if (s === '01') this.stack.push(true);
          else {
            if (!/^[+-]?\d+$/.test(s)) this.fail(`bad INT ${s}`);
            this.stack.push(intValue(BigInt(s)));
          }
          break;
        }
        case 0x4c: {
          // LONG (text)
          const s = this.line().replace(/L$/, '');
          if (!/^[+-]?\d+$/.test(s)) this.fail(`bad LONG ${s}`);
          this.stack.push(intValue(BigInt(s)));
          break;
        }
        case 0x8a: // LONG1
          this.stack.push(this.decodeLong(this.take(this.u8())));
          break;
        case 0x8b: {
          // LONG4
          const n = this.dv.getInt32(this.need(4), true);
          if (n < 0) this.fail('negative LONG4 length');
          this.stack.push(this.decodeLong(this.take(n)));
          break;
        }
        case 0x47: // BINFLOAT (big-endian)
          this.stack.push(this.dv.getFloat64(this.need(8), false));
          break;
        case 0x46: {
          // FLOAT (text)
          // Python's repr: also inf, -inf, nan
          const s = this.line().trim();
          const special: Record<string, number> = { inf: Infinity, '+inf': Infinity, '-inf': -Infinity, nan: NaN, '-nan': NaN, '+nan': NaN };
          const v = Object.hasOwn(special, s.toLowerCase()) ? special[s.toLowerCase()]! : Number(s);
          if (Number.isNaN(v) && !/^[+-]?nan$/i.test(s)) this.fail(`bad FLOAT ${s}`);
          this.stack.push(v);
          break;
        }
        case 0x58: // BINUNICODE
          this.stack.push(this.utf8(this.take(this.u32())));
          break;
        case 0x8c: // SHORT_BINUNICODE
          this.stack.push(this.utf8(this.take(this.u8())));
          break;
        case 0x8d: // BINUNICODE8
          this.stack.push(this.utf8(this.take(this.u64())));
          break;
        case 0x56: // UNICODE (raw-unicode-escape text)
          this.stack.push(this.line().replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))));
          break;
        case 0x53: // STRING (protocol 0 str, Python 2)
          this.stack.push(this.text(this.line()));
          break;
        case 0x54: // BINSTRING
          this.stack.push(this.py2str(this.take(this.dv.getInt32(this.need(4), true))));
          break;
        case 0x55: // SHORT_BINSTRING
          this.stack.push(this.py2str(this.take(this.u8())));
          break;
        case 0x42: // BINBYTES
          this.stack.push(this.take(this.u32()).slice());
          break;
        case 0x43: // SHORT_BINBYTES
          this.stack.push(this.take(this.u8()).slice());
          break;
        case 0x8e: // BINBYTES8
        case 0x96: // BYTEARRAY8
          this.stack.push(this.take(this.u64()).slice());
          break;
        case 0x5d: // EMPTY_LIST
          this.stack.push([]);
          break;
        case 0x29: // EMPTY_TUPLE
          this.stack.push([]);
          break;
        case 0x7d: // EMPTY_DICT
          this.stack.push(new Map());
          break;
        case 0x8f: // EMPTY_SET
          this.stack.push(new Set());
          break;
        case 0x6c: // LIST
        case 0x74: {
          // TUPLE (popMark swaps this.stack, so take the items before pushing)
          const items = this.popMark();
          this.stack.push(items);
          break;
        }
        case 0x85: // TUPLE1
          this.stack.push([this.pop()]);
          break;
        case 0x86: {
          // TUPLE2
          const b2 = this.pop();
          const a2 = this.pop();
          this.stack.push([a2, b2]);
          break;
        }
        case 0x87: {
          // TUPLE3
          const c3 = this.pop();
          const b3 = this.pop();
          const a3 = this.pop();
          this.stack.push([a3, b3, c3]);
          break;
        }
        case 0x64: {
          // DICT
          const items = this.popMark();
          const d = new Map();
          this.setItems(d, items);
          this.stack.push(d);
          break;
        }
        case 0x91: {
          // FROZENSET
          const items = this.popMark();
          this.stack.push(new Set(items));
          break;
        }
        case 0x61: {
          // APPEND
          const v = this.pop();
          this.appendItems(this.top(), [v]);
          break;
        }
        case 0x65: {
          // APPENDS
          const items = this.popMark();
          this.appendItems(this.top(), items);
          break;
        }
        case 0x73: {
          // SETITEM
          const v = this.pop();
          const k = this.pop();
          this.setItems(this.top(), [k, v]);
          break;
        }
        case 0x75: {
          // SETITEMS
          const items = this.popMark();
          this.setItems(this.top(), items);
          break;
        }
        case 0x90: {
          // ADDITEMS
          const items = this.popMark();
          const s = this.top();
          if (!(s instanceof Set)) throw new UnsafePickleError(`${this.source}: ADDITEMS on ${describeValue(s)}`);
          for (const x of items) s.add(x);
          break;
        }
        case 0x67: // GET
          this.push(this.memoGet(Number(this.line())));
          break;
        case 0x68: // BINGET
          this.push(this.memoGet(this.u8()));
          break;
        case 0x6a: // LONG_BINGET
          this.push(this.memoGet(this.u32()));
          break;
        case 0x70: // PUT
          this.memo.set(Number(this.line()), this.top());
          break;
        case 0x71: // BINPUT
          this.memo.set(this.u8(), this.top());
          break;
        case 0x72: // LONG_BINPUT
          this.memo.set(this.u32(), this.top());
          break;
        case 0x94: // MEMOIZE
          this.memo.set(this.memo.size, this.top());
          break;
        case 0x63: {
          // GLOBAL
          const module = this.line();
          const name = this.line();
          this.stack.push(this.global(module, name));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL needs two strings');
          this.stack.push(this.global(module, name));
          break;
        }
        case 0x52: {
          // REDUCE
          const args = this.pop();
          const fn = this.pop();
          if (!Array.isArray(args)) this.fail('REDUCE arguments are not a tuple');
          if (fn instanceof PyGlobal && fn.behaviour.call) this.stack.push(fn.behaviour.call(args));
          else throw new UnsafePickleError(`${this.source}: REDUCE on ${describeValue(fn)} is not allowed`, fn instanceof PyGlobal ? fn.qualname : undefined);
          break;
        }
        case 0x81: {
          // NEWOBJ
          const args = this.pop();
          const cls = this.pop();
          if (!Array.isArray(args)) this.fail('NEWOBJ arguments are not a tuple');
          this.stack.push(this.construct(cls, args, 'NEWOBJ'));
          break;
        }
        case 0x92: {
          // NEWOBJ_EX
          const kwargs = this.pop();
          const args = this.pop();
          const cls = this.pop();
          if (!Array.isArray(args)) this.fail('NEWOBJ_EX arguments are not a tuple');
          if (kwargs instanceof Map && kwargs.size > 0) throw new UnsafePickleError(`${this.source}: NEWOBJ_EX with keyword arguments on ${describeValue(cls)}`);
          this.stack.push(this.construct(cls, args, 'NEWOBJ_EX'));
          break;
        }
        case 0x69: {
          // INST
          const module = this.line();
          const name = this.line();
          const cls = this.global(module, name);
          const args = this.popMark();
          this.stack.push(this.construct(cls, args, 'INST'));
          break;
        }
        case 0x6f: {
          // OBJ
          const items = this.popMark();
          if (items.length === 0) this.fail('OBJ without a class');
          this.stack.push(this.construct(items[0], items.slice(1), 'OBJ'));
          break;
        }
        case 0x62: {
          // BUILD
          const state = this.pop();
          this.build(this.top(), state);
          break;
        }
        case 0x51: {
          // BINPERSID
          const pid = this.pop();
          if (!this.options.persistentLoad) throw new UnsafePickleError(`${this.source}: persistent id without a persistent loader`);
          this.stack.push(this.options.persistentLoad(pid));
          break;
        }
        case 0x50: {
          // PERSID
          const pid = this.line();
          if (!this.options.persistentLoad) throw new UnsafePickleError(`${this.source}: persistent id without a persistent loader`);
          this.stack.push(this.options.persistentLoad(pid));
          break;
        }
        case 0x82:
        case 0x83:
        case 0x84:
          throw new UnsafePickleError(`${this.source}: extension-registry opcodes (EXT1/2/4) are not allowed`);
        case 0x97:
        case 0x98:
          this.fail('out-of-band buffers (pickle protocol 5) are not supported');
        // falls through (fail never returns)
        default:
          this.pos--;
          this.fail(`unknown opcode 0x${op.toString(16).padStart(2, '0')}`);
      }
    }
  }

  private push(v: unknown): void {
    this.stack.push(v);
  }

  private memoGet(i: number): unknown {
    if (!this.memo.has(i)) this.fail(`memo key ${i} is not defined`);
    return this.memo.get(i);
  }
}

/** Globals that are safe in any pickle: containers and byte helpers, all re-implemented here. */
export function builtinGlobal(qualname: string, source: string): PyGlobal | undefined {
  switch (qualname) {
    case 'collections.OrderedDict':
      return new PyGlobal(qualname, { call: (args) => dictFrom(args, source), construct: (args) => dictFrom(args, source) });
    case 'builtins.set':
    case '__builtin__.set':
    case 'builtins.frozenset':
    case '__builtin__.frozenset':
      return new PyGlobal(qualname, { call: (args) => setFrom(args, source), construct: (args) => setFrom(args, source) });
    case 'builtins.bytearray':
    case 'builtins.bytes':
    case '__builtin__.bytearray':
      return new PyGlobal(qualname, { call: (args) => bytesFrom(args, source), construct: (args) => bytesFrom(args, source) });
    case '_codecs.encode':
      // protocol 2 spells bytes as _codecs.encode(str, 'latin1')
      return new PyGlobal(qualname, { call: (args) => bytesFrom(args, source) });
    default:
      return undefined;
  }
}

function dictFrom(args: unknown[], source: string): Map<unknown, unknown> {
  const d = new Map<unknown, unknown>();
  const init = args[0];
  if (args.length === 0 || init === null || init === undefined) return d;
  if (init instanceof Map) return new Map(init);
  if (Array.isArray(init)) {
    for (const pair of init) {
      if (!Array.isArray(pair) || pair.length !== 2) throw new PickleFormatError(`${source}: OrderedDict item is not a pair`);
      d.set(pair[0], pair[1]);
    }
    return d;
  }
  throw new UnsafePickleError(`${source}: OrderedDict built from ${describeValue(init)}`);
}

function setFrom(args: unknown[], source: string): Set<unknown> {
  const init = args[0];
  if (args.length === 0) return new Set();
  if (Array.isArray(init)) return new Set(init);
  if (init instanceof Set) return new Set(init);
  throw new UnsafePickleError(`${source}: set built from ${describeValue(init)}`);
}

function bytesFrom(args: unknown[], source: string): Uint8Array {
  const [init, encoding] = args;
  if (args.length === 0) return new Uint8Array(0);
  if (init instanceof Uint8Array) return init.slice();
  if (Array.isArray(init) && init.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < 256)) return Uint8Array.from(init as number[]);
  if (typeof init === 'string') {
    const enc = typeof encoding === 'string' ? encoding.toLowerCase().replace(/[-_]/g, '') : 'latin1';
    if (enc === 'latin1' || enc === 'iso88591') {
      const out = new Uint8Array(init.length);
      for (let i = 0; i < init.length; i++) {
        const c = init.charCodeAt(i);
        if (c > 255) throw new PickleFormatError(`${source}: latin1 bytes with code point ${c}`);
        out[i] = c;
      }
      return out;
    }
    if (enc === 'utf8') return new TextEncoder().encode(init);
  }
  throw new UnsafePickleError(`${source}: bytes built from ${describeValue(init)}`);
}
