import { PickleFormatError, UnsafePickleError, UnsupportedDtypeError } from './errors.js';
import { describeValue, PyGlobal, type Buildable } from './pickle.js';
import { contiguousStrides, DTYPE_BYTES, gatherStrided, numelOf, type TensorData, type TensorDtype, type TensorRecord, typedView } from './tensor.js';

/**
 * NumPy objects that fairseq-style checkpoints (wav2vec 2.0, EAT, data2vec) carry in their
 * `extra_state` (numpy float64 losses, small arrays): dtypes, scalars and numeric ndarrays, decoded
 * from their pickled bytes. Object arrays and structured dtypes are refused.
 */

const KINDS: Record<string, TensorDtype> = {
  f8: 'float64', f4: 'float32', f2: 'float16', i8: 'int64', i4: 'int32', i2: 'int16', i1: 'int8',
  u8: 'uint64', u4: 'uint32', u2: 'uint16', u1: 'uint8', b1: 'bool',
};

export class NumpyDtype implements Buildable {
  byteorder = '|';
  constructor(
    public descr: string,
    private readonly source: string,
  ) {}
  setState(state: unknown): void {
    if (!Array.isArray(state) || state.length < 2 || typeof state[1] !== 'string') throw new PickleFormatError(`${this.source}: numpy dtype state is malformed`);
    this.byteorder = state[1];
    // (version, byteorder, subdescr, names, fields, ...): names set = structured dtype
    if (state[3] !== null && state[3] !== undefined) this.descr = `structured ${this.descr}`;
  }
  get dtype(): TensorDtype {
    const dt = Object.hasOwn(KINDS, this.descr) ? KINDS[this.descr] : undefined;
    if (!dt) throw new UnsupportedDtypeError(`${this.source}: numpy dtype '${this.descr}' is not supported`);
    return dt;
  }
  get bigEndian(): boolean {
    return this.byteorder === '>';
  }
}

function decode(dt: NumpyDtype, raw: Uint8Array, count: number, source: string): TensorData {
  const dtype = dt.dtype;
  const width = DTYPE_BYTES[dtype];
  if (raw.length !== count * width) throw new PickleFormatError(`${source}: numpy data holds ${raw.length} bytes, expected ${count} x ${dtype}`);
  const bytes = raw.slice();
  if (dt.bigEndian && width > 1) {
    for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
  }
  return typedView(dtype, bytes.buffer, 0, count);
}

/** An ndarray after `_reconstruct` + BUILD. */
export class NdArray implements Buildable {
  record: TensorRecord | undefined;
  constructor(private readonly source: string) {}
  setState(state: unknown): void {
    const s = this.source;
    if (!Array.isArray(state) || state.length !== 5) throw new PickleFormatError(`${s}: numpy array state is malformed`);
    const [, shape, dt, fortran, raw] = state as unknown[];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) throw new PickleFormatError(`${s}: numpy array shape is malformed`);
    if (!(dt instanceof NumpyDtype)) throw new UnsafePickleError(`${s}: numpy array of ${describeValue(dt)}`);
    if (!(raw instanceof Uint8Array)) throw new UnsupportedDtypeError(`${s}: numpy object arrays are not supported`);
    const dims = shape as number[];
    const count = numelOf(dims);
    let data = decode(dt, raw, count, s);
    if (fortran === true && dims.length > 1) {
      // column-major bytes: read them through reversed strides into C order
      const stride = contiguousStrides([...dims].reverse()).reverse();
      const Ctor = data.constructor as new (n: number) => TensorData;
      data = gatherStrided(data, { shape: dims, stride, offset: 0 }, (n) => new Ctor(n));
    }
    this.record = { dtype: dt.dtype, shape: dims, data };
  }
}

function scalar(args: unknown[], source: string): number | bigint | boolean {
  const [dt, raw] = args;
  if (!(dt instanceof NumpyDtype)) throw new UnsafePickleError(`${source}: numpy scalar of ${describeValue(dt)}`);
  if (!(raw instanceof Uint8Array)) throw new UnsupportedDtypeError(`${source}: numpy object scalars are not supported`);
  const v = decode(dt, raw, 1, source)[0]!;
  if (dt.dtype === 'bool') return v !== 0;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  if (dt.dtype === 'float16') return halfValue(v);
  return v;
}

function halfValue(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  const mag = exp === 0 ? frac * 2 ** -24 : exp === 31 ? (frac ? NaN : Infinity) : (1 + frac / 1024) * 2 ** (exp - 15);
  return h & 0x8000 ? -mag : mag;
}

export function numpyGlobal(qualname: string, source: string): PyGlobal | undefined {
  switch (qualname) {
    case 'numpy.dtype':
      return new PyGlobal(qualname, {
        call: (args) => {
          if (typeof args[0] !== 'string') throw new PickleFormatError(`${source}: numpy.dtype of ${describeValue(args[0])}`);
          return new NumpyDtype(args[0], source);
        },
      });
    case 'numpy.core.multiarray.scalar':
    case 'numpy._core.multiarray.scalar':
      return new PyGlobal(qualname, { call: (args) => scalar(args, source) });
    case 'numpy.core.multiarray._reconstruct':
    case 'numpy._core.multiarray._reconstruct':
      return new PyGlobal(qualname, {
        call: (args) => {
          if (!(args[0] instanceof PyGlobal) || args[0].qualname !== 'numpy.ndarray') throw new UnsafePickleError(`${source}: _reconstruct of ${describeValue(args[0])}`);
          return new NdArray(source);
        },
      });
    case 'numpy.ndarray':
      return new PyGlobal(qualname, {});
    default:
      return undefined;
  }
}
