import { statSync } from 'node:fs';

import {
  LegacyTorchFormatError,
  PickleFormatError,
  StateDictPathError,
  StorageTruncatedError,
  TensorLayoutError,
  TorchScriptArchiveError,
  UnknownCheckpointFormatError,
  UnsafePickleError,
  UnsupportedDtypeError,
  ZipFormatError,
} from './errors.js';
import { readModelDirectory } from './hfdir.js';
import { NdArray, numpyGlobal } from './numpy.js';
import { omegaconfGlobal, omegaValue, OmegaContainer, OmegaNode } from './omegaconf.js';
import { builtinGlobal, describeValue, PyGlobal, PyObject, unpickle } from './pickle.js';
import { looksLikeSafetensors, readSafetensorsFrom, readSafetensorsInfo } from './safetensors.js';
import { type ByteSource, type CheckpointInput, openSource } from './source.js';
import {
  checkLayout,
  DTYPE_BYTES,
  gatherStrided,
  isContiguous,
  type TensorData,
  type TensorDtype,
  type TensorRecord,
  toFloat32,
  typedView,
} from './tensor.js';
import { looksLikeZip, ZipArchive } from './zip.js';

export interface ReadCheckpointOptions {
  /** Widen float16/bfloat16 tensors to float32 (default false: they stay as raw 16-bit patterns). */
  toFloat32?: boolean;
  /**
   * Dotted path of the state dict inside the checkpoint ('' = the root object). By default the
   * root is used when it holds tensors directly, else the first of `state_dict` (Lightning),
   * `model` (BEATs, fairseq), `model_state_dict`, `module`, `net`, `network`, `state`, `params`,
   * `weights` that holds tensors.
   */
  stateDict?: string;
  /** Also materialise tensors outside the state dict (optimizer moments, EMA copies) into `otherTensors`. */
  includeOtherTensors?: boolean;
  /**
   * Extra fully qualified class names (e.g. `mypkg.config.TrainConfig`) to accept as config-like
   * objects: instances become plain data (their attributes); no code of theirs runs.
   */
  plainClasses?: readonly string[];
  /** Name used in messages when the input is a Uint8Array. */
  name?: string;
  /**
   * A strided view may repeat storage elements (stride 0, `expand`); materialising it may take at
   * most this many times its storage's size (plus 1 MiB). Default 16.
   */
  maxExpansion?: number;
}

export type CheckpointFormat = 'torch-zip' | 'safetensors';

/** Plain JSON-like data (numbers may be NaN/Infinity when the checkpoint holds them). */
export type MetaValue = null | boolean | number | string | MetaValue[] | { [key: string]: MetaValue };

/** A tensor's type and shape, without its data (what `inspectCheckpoint` returns). */
export interface TensorInfo {
  dtype: TensorDtype;
  shape: number[];
}

export interface CheckpointContents<T> {
  format: CheckpointFormat;
  /** the path, or the `name` option for bytes */
  source: string;
  /** the state dict, names relative to `stateDictPath` */
  tensors: Map<string, T>;
  /** where the state dict was found ('' = the root, 'model', 'state_dict', ...) */
  stateDictPath: string;
  /** tensors elsewhere in the checkpoint, full dotted paths; filled only with `includeOtherTensors` */
  otherTensors: Map<string, T>;
  /**
   * Everything that is not the state dict, as plain data: BEATs' `cfg`, Lightning's `epoch` and
   * `hyper_parameters`, argparse.Namespace args as objects. Tensors outside the state dict appear
   * as `{ $tensor: path, dtype, shape }` (plus `values` when they have at most 16 elements);
   * bytes as `{ $bytes: base64 }`. For safetensors: the `__metadata__` strings.
   */
  meta: { [key: string]: MetaValue };
}

/** A checkpoint with every state-dict tensor's data. */
export type TorchCheckpoint = CheckpointContents<TensorRecord>;
/** A checkpoint's names, dtypes, shapes and meta; tensor data is validated but not read. */
export type CheckpointInfo = CheckpointContents<TensorInfo>;

interface StorageRef {
  readonly kind: 'storage';
  key: string;
  dtype: TensorDtype;
  numel: number;
}

/** A torch tensor or a numpy array found in the pickle. */
type TensorLike = TensorRef | NdArray;

function isTensorLike(x: unknown): x is TensorLike {
  return x instanceof TensorRef || x instanceof NdArray;
}

class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

interface StorageClass {
  storageDtype: TensorDtype | undefined;
  torchName: string;
}

const STORAGE_DTYPES: Record<string, TensorDtype | undefined> = {
  DoubleStorage: 'float64', FloatStorage: 'float32', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8',
  ByteStorage: 'uint8', BoolStorage: 'bool', UntypedStorage: 'uint8',
  // known storage classes whose elements we do not decode: rejected with UnsupportedDtypeError on use
  ComplexFloatStorage: undefined, ComplexDoubleStorage: undefined, QInt8Storage: undefined,
  QUInt8Storage: undefined, QInt32Storage: undefined, QUInt4x2Storage: undefined, QUInt2x4Storage: undefined,
};

const TORCH_DTYPES = new Set([
  'float64', 'double', 'float32', 'float', 'float16', 'half', 'bfloat16', 'int64', 'long', 'int32', 'int',
  'int16', 'short', 'int8', 'uint8', 'bool', 'complex64', 'complex128', 'cfloat', 'cdouble',
  'uint16', 'uint32', 'uint64', 'float8_e4m3fn', 'float8_e5m2', 'qint8', 'quint8', 'qint32',
]);

/** Dict-like config containers from Lightning: unpickled as dicts. */
const DICT_CLASSES = new Set([
  'pytorch_lightning.utilities.parsing.AttributeDict',
  'lightning.pytorch.utilities.parsing.AttributeDict',
  'lightning.fabric.utilities.data.AttributeDict',
  'lightning_fabric.utilities.data.AttributeDict',
  'collections.defaultdict',
]);

const DEFAULT_PLAIN_CLASSES = ['argparse.Namespace'];

const STATE_DICT_KEYS = ['state_dict', 'model', 'model_state_dict', 'module', 'net', 'network', 'state', 'params', 'weights'];

function isInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x);
}

function intList(x: unknown, what: string, source: string): number[] {
  if (!Array.isArray(x) || !x.every(isInt)) throw new PickleFormatError(`${source}: ${what} is not a tuple of integers`);
  return x;
}

function rebuildTensor(args: unknown[], source: string): TensorRef {
  const [storage, offset, size, stride] = args;
  if (!isStorageRef(storage)) throw new PickleFormatError(`${source}: _rebuild_tensor with ${describeValue(storage)} instead of a storage`);
  if (!isInt(offset)) throw new PickleFormatError(`${source}: tensor storage offset is not an integer`);
  return new TensorRef(storage, offset, intList(size, 'tensor size', source), intList(stride, 'tensor stride', source));
}

function isStorageRef(x: unknown): x is StorageRef {
  return typeof x === 'object' && x !== null && (x as Partial<StorageRef>).kind === 'storage';
}

function asTensor(x: unknown, fn: string, source: string): TensorRef {
  if (!(x instanceof TensorRef)) throw new UnsafePickleError(`${source}: ${fn} applied to ${describeValue(x)}`);
  return x;
}

function dictFrom(args: unknown[]): Map<unknown, unknown> {
  const init = args[0];
  if (init instanceof Map) return new Map(init);
  return new Map();
}

/** The allow-list. Anything not named here is rejected with its name. */
function torchResolver(source: string, plainClasses: ReadonlySet<string>): (module: string, name: string) => PyGlobal {
  const cache = new Map<string, PyGlobal>();
  const make = (q: string, module: string, name: string): PyGlobal | undefined => {
    const builtin = builtinGlobal(q, source) ?? numpyGlobal(q, source) ?? omegaconfGlobal(q, source);
    if (builtin) return builtin;
    switch (q) {
      case 'torch._utils._rebuild_tensor_v2':
      case 'torch._utils._rebuild_tensor':
        return new PyGlobal(q, { call: (args) => rebuildTensor(args, source) });
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state':
        return new PyGlobal(q, { call: (args) => asTensor(args[0], q, source) });
      case 'torch._tensor._rebuild_from_type_v2':
      case 'torch._tensor._rebuild_from_type': {
        // (func, new_type, args, state): only the plain tensor/parameter rebuilds are honoured
        return new PyGlobal(q, {
          call: (args) => {
            const [func, newType, inner] = args;
            if (!(newType instanceof PyGlobal) || !['torch.Tensor', 'torch.nn.parameter.Parameter'].includes(newType.qualname)) {
              throw new UnsafePickleError(`${source}: tensor subclass ${describeValue(newType)} is not allowed`, newType instanceof PyGlobal ? newType.qualname : undefined);
            }
            if (!(func instanceof PyGlobal) || !func.behaviour.call || !Array.isArray(inner)) throw new UnsafePickleError(`${source}: ${q} with ${describeValue(func)}`);
            return asTensor(func.behaviour.call(inner), q, source);
          },
        });
      }
      case 'torch.Tensor':
      case 'torch.nn.parameter.Parameter':
        return new PyGlobal(q, {});
      case 'torch.Size':
        return new PyGlobal(q, { call: (args) => intList(args[0] ?? [], 'torch.Size', source), construct: (args) => intList(args[0] ?? [], 'torch.Size', source) });
      case 'torch.device':
        return new PyGlobal(q, { call: (args) => args.map(String).join(':') });
      case 'copyreg._reconstructor':
      case 'copy_reg._reconstructor':
        // protocol 0/1 spelling of object.__new__(cls): allowed for the allowed plain classes only
        return new PyGlobal(q, {
          call: (args) => {
            const [cls] = args;
            if (cls instanceof PyGlobal && cls.behaviour.construct && plainClasses.has(cls.qualname)) return cls.behaviour.construct([]);
            throw new UnsafePickleError(`${source}: ${q} of ${describeValue(cls)} is not allowed`, cls instanceof PyGlobal ? cls.qualname : undefined);
          },
        });
      case 'builtins.object':
      case '__builtin__.object':
        return new PyGlobal(q, {});
      default:
        break;
    }
    if (module === 'torch' && Object.hasOwn(STORAGE_DTYPES, name)) {
      const value: StorageClass = { storageDtype: STORAGE_DTYPES[name], torchName: q };
      return new PyGlobal(q, { value });
    }
    if (module === 'torch.storage' && name === 'UntypedStorage') return new PyGlobal(q, { value: { storageDtype: 'uint8', torchName: q } satisfies StorageClass });
    if (module === 'torch' && TORCH_DTYPES.has(name)) return new PyGlobal(q, { value: q });
    if (DICT_CLASSES.has(q)) return new PyGlobal(q, { call: dictFrom, construct: dictFrom });
    if (plainClasses.has(q)) return new PyGlobal(q, { construct: () => new PyObject(q) });
    return undefined;
  };
  return (module, name) => {
    const q = `${module}.${name}`;
    let g = cache.get(q);
    if (!g) {
      g = make(q, module, name);
      if (!g) throw new UnsafePickleError(`${source}: the pickle references global '${q}', which is not on the allow-list; nothing was executed`, q);
      cache.set(q, g);
    }
    return g;
  };
}

// The magic number every legacy (pre-zip) torch.save stream starts with, as a pickled LONG1.
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

export type DetectedFormat = CheckpointFormat | 'torch-legacy' | 'pickle' | 'unknown';

/** What kind of file this is, from its first bytes. */
export function detectFormat(head: Uint8Array, size: number): DetectedFormat {
  if (looksLikeZip(head)) return 'torch-zip';
  if (LEGACY_MAGIC.every((b, i) => head[i] === b)) return 'torch-legacy';
  if (looksLikeSafetensors(head, size)) return 'safetensors';
  if (head[0] === 0x80 && head.length > 1 && head[1]! <= 5) return 'pickle';
  return 'unknown';
}

/**
 * Read a PyTorch checkpoint (`torch.save` zip format, torch >= 1.6: `.pt`, `.pth`, `.ckpt`,
 * `pytorch_model.bin`) or a safetensors file, without running any of its code. A directory is read
 * as a Hugging Face model folder: model.safetensors or pytorch_model.bin (sharded through their
 * `.index.json` too), with config.json and preprocessor_config.json in `meta`.
 */
export function readTorchCheckpoint(input: CheckpointInput, options: ReadCheckpointOptions = {}): TorchCheckpoint {
  return read(input, options, true) as TorchCheckpoint;
}

/**
 * Names, dtypes, shapes and meta of a checkpoint, without reading tensor data (storages and views
 * are still checked against the archive): what `anopatch inspect` shows, at any checkpoint size.
 */
export function inspectCheckpoint(input: CheckpointInput, options: ReadCheckpointOptions = {}): CheckpointInfo {
  return read(input, { ...options, includeOtherTensors: false }, false);
}

function read(input: CheckpointInput, options: ReadCheckpointOptions, withData: boolean): CheckpointContents<TensorRecord | TensorInfo> {
  if (typeof input === 'string' && statSync(input, { throwIfNoEntry: false })?.isDirectory()) {
    return readModelDirectory(input, options, (path, o) => read(path, o, withData));
  }
  const src = openSource(input, options.name);
  try {
    const head = src.read(0, Math.min(16, src.size));
    const format = detectFormat(head, src.size);
    switch (format) {
      case 'torch-zip':
        try {
          return readZipCheckpoint(src, options, withData);
        } catch (err) {
          // the tree walks do not know the file name
          if (err instanceof PickleFormatError && !err.message.startsWith(src.name)) throw new PickleFormatError(`${src.name}: ${err.message}`);
          throw err;
        }
      case 'safetensors': {
        const st = withData ? readSafetensorsFrom(src, { toFloat32: options.toFloat32 }) : readSafetensorsInfo(src, { toFloat32: options.toFloat32 });
        return { format, source: src.name, tensors: st.tensors, stateDictPath: '', otherTensors: new Map(), meta: { ...st.metadata } };
      }
      case 'torch-legacy':
        throw new LegacyTorchFormatError(`${src.name}: legacy (pre-1.6, non-zip) torch.save format; re-save it with torch>=1.6: torch.save(torch.load(p), p2)`);
      case 'pickle':
        throw new LegacyTorchFormatError(`${src.name}: a bare pickle stream, not a torch.save zip archive; re-save it with torch>=1.6 torch.save`);
      case 'unknown':
        throw new UnknownCheckpointFormatError(`${src.name}: not a PyTorch zip checkpoint nor a safetensors file (${src.size} bytes, starts ${Array.from(head.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ')})`);
    }
  } finally {
    src.close();
  }
}

function readZipCheckpoint(src: ByteSource, options: ReadCheckpointOptions, withData: boolean): CheckpointContents<TensorRecord | TensorInfo> {
  const zip = new ZipArchive(src);
  const pkls = zip.names.filter((n) => n === 'data.pkl' || n.endsWith('/data.pkl')).sort((a, b) => a.length - b.length);
  const pkl = pkls[0];
  const torchScript = (prefix: string): boolean => zip.has(`${prefix}constants.pkl`) || zip.names.some((n) => n.startsWith(`${prefix}code/`));
  if (pkl === undefined) {
    if (torchScript('') || zip.names.some((n) => /(^|\/)constants\.pkl$/.test(n))) throw new TorchScriptArchiveError(`${src.name}: a TorchScript archive (torch.jit.save) without data.pkl; export a state_dict with torch.save instead`);
    throw new ZipFormatError(`${src.name}: a zip archive without data.pkl: not a torch.save checkpoint`);
  }
  const prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
  if (torchScript(prefix)) {
    throw new TorchScriptArchiveError(`${src.name}: a TorchScript archive (torch.jit.save: code/ and constants.pkl); load it in Python and torch.save(model.state_dict(), path) instead`);
  }
  let bigEndian = false;
  if (zip.has(`${prefix}byteorder`)) {
    const order = new TextDecoder().decode(zip.read(`${prefix}byteorder`)).trim();
    if (order !== 'little' && order !== 'big') throw new ZipFormatError(`${src.name}: unknown byteorder record '${order}'`);
    bigEndian = order === 'big';
  }
  const source = src.name;
  const plain = new Set([...DEFAULT_PLAIN_CLASSES, ...(options.plainClasses ?? [])]);
  const storages = new Map<string, StorageRef>();
  const root = unpickle(zip.read(pkl), {
    source,
    resolveGlobal: torchResolver(source, plain),
    persistentLoad: (pid) => {
      if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) throw new UnsafePickleError(`${source}: unexpected persistent id ${describeValue(pid)}`);
      const [, cls, key, , numel] = pid as unknown[];
      const sc = cls instanceof PyGlobal ? (cls.behaviour.value as StorageClass | undefined) : undefined;
      if (!sc || typeof sc.torchName !== 'string') throw new UnsafePickleError(`${source}: storage of type ${describeValue(cls)}`);
      if (!sc.storageDtype) throw new UnsupportedDtypeError(`${source}: ${sc.torchName} tensors are not supported`);
      if (typeof key !== 'string' && !isInt(key)) throw new PickleFormatError(`${source}: storage key is not a string`);
      if (!isInt(numel) || numel < 0) throw new PickleFormatError(`${source}: storage ${String(key)} has no valid element count`);
      const k = String(key);
      const known = storages.get(k);
      if (known) {
        if (known.dtype !== sc.storageDtype) throw new UnsupportedDtypeError(`${source}: storage ${k} is viewed both as ${known.dtype} and ${sc.storageDtype}`);
        return known;
      }
      const ref: StorageRef = { kind: 'storage', key: k, dtype: sc.storageDtype, numel };
      storages.set(k, ref);
      return ref;
    },
  });

  const loaded = new Map<string, Uint8Array>();
  const checkStorage = (s: StorageRef): { member: string; need: number } => {
    const member = `${prefix}data/${s.key}`;
    const need = s.numel * DTYPE_BYTES[s.dtype];
    const entry = zip.entries.get(member);
    if (!entry) throw new StorageTruncatedError(`${source}: storage ${s.key} (${member}) is missing from the archive`);
    if (entry.size < need) throw new StorageTruncatedError(`${source}: storage ${s.key} holds ${entry.size} bytes but the checkpoint claims ${s.numel} x ${s.dtype} = ${need} bytes`);
    return { member, need };
  };
  const storageBytes = (s: StorageRef): Uint8Array => {
    const known = loaded.get(s.key);
    if (known) return known;
    const { member, need } = checkStorage(s);
    let bytes = zip.read(member, 0, need);
    const width = DTYPE_BYTES[s.dtype];
    // typed arrays need element alignment; file reads are aligned, a caller's buffer may not be
    if (bytes.byteOffset % width !== 0 || bigEndian) bytes = bytes.slice();
    if (bigEndian && width > 1) byteSwap(bytes, width);
    loaded.set(s.key, bytes);
    return bytes;
  };
  const maxExpansion = options.maxExpansion ?? 16;
  // the same tensor object reached twice (tied weights, aliases) gives the same record
  const records = new Map<TensorLike, TensorRecord>();
  const materialise = (t: TensorLike, name: string): TensorRecord => {
    const known = records.get(t);
    if (known) return known;
    if (t instanceof NdArray) {
      if (!t.record) throw new PickleFormatError(`${source}: numpy array ${name} was never given its data`);
      const rec = options.toFloat32 ? toFloat32(t.record) : t.record;
      records.set(t, rec);
      return rec;
    }
    const what = `${source}: tensor ${name}`;
    const layout = { shape: t.shape, stride: t.stride, offset: t.offset };
    const numel = checkLayout(layout, t.storage.numel, what);
    const width = DTYPE_BYTES[t.storage.dtype];
    if (numel * width > t.storage.numel * width * maxExpansion + (1 << 20)) {
      throw new TensorLayoutError(`${what}: view of ${numel} elements over a ${t.storage.numel}-element storage would expand more than ${maxExpansion}x (raise maxExpansion to allow it)`);
    }
    const bytes = numel === 0 ? new Uint8Array(0) : storageBytes(t.storage);
    let data: TensorData;
    if (numel === 0) data = typedView(t.storage.dtype, new ArrayBuffer(0), 0, 0);
    else if (isContiguous(t.shape, t.stride)) data = typedView(t.storage.dtype, bytes.buffer, bytes.byteOffset + t.offset * width, numel);
    else {
      const whole = typedView(t.storage.dtype, bytes.buffer, bytes.byteOffset, t.storage.numel);
      const Ctor = whole.constructor as new (n: number) => TensorData;
      // 8-byte floats go through Float64Array like everything else: values, not payload bits, matter
      data = gatherStrided(whole, layout, (n) => new Ctor(n));
    }
    const raw: TensorRecord = { dtype: t.storage.dtype, shape: [...t.shape], data };
    const record = options.toFloat32 ? toFloat32(raw) : raw;
    records.set(t, record);
    return record;
  };

  // what a tensor would be, checked as strictly as materialise does, without reading its data
  const describe = (t: TensorLike, name: string): TensorInfo => {
    if (t instanceof NdArray) {
      const r = materialise(t, name);
      return { dtype: r.dtype, shape: r.shape };
    }
    checkLayout({ shape: t.shape, stride: t.stride, offset: t.offset }, t.storage.numel, `${source}: tensor ${name}`);
    checkStorage(t.storage);
    const widened = options.toFloat32 && (t.storage.dtype === 'float16' || t.storage.dtype === 'bfloat16');
    return { dtype: widened ? 'float32' : t.storage.dtype, shape: [...t.shape] };
  };

  const sdPath = options.stateDict ?? guessStateDictPath(root);
  const sd = resolvePath(root, sdPath, source);
  const tensors = new Map<string, TensorRecord | TensorInfo>();
  walkTensors(sd, '', (name, t) => {
    const full = sdPath ? `${sdPath}.${name}` : name;
    tensors.set(name, withData ? materialise(t, full) : describe(t, full));
  });
  const otherTensors = new Map<string, TensorRecord>();
  const meta = toMeta(root, sd, (path, t) => {
    const small = t instanceof NdArray || t.storage.numel <= SMALL_TENSOR;
    const rec = (withData && options.includeOtherTensors) || small ? materialise(t, path) : undefined;
    if (withData && options.includeOtherTensors && rec) otherTensors.set(path, rec);
    const dtype = t instanceof NdArray ? t.record?.dtype ?? 'uint8' : t.storage.dtype;
    const shape = t instanceof NdArray ? t.record?.shape ?? [] : t.shape;
    const placeholder: { [key: string]: MetaValue } = { $tensor: path, dtype, shape: [...shape] };
    // small tensors (a best score, a step counter) are shown with their values
    if (rec && rec.data.length <= SMALL_TENSOR) placeholder.values = Array.from(rec.data as ArrayLike<number | bigint>, metaNumber);
    return placeholder;
  });
  return { format: 'torch-zip', source, tensors, stateDictPath: sdPath, otherTensors, meta };
}

/** Tensors outside the state dict with at most this many elements show their values in `meta`. */
const SMALL_TENSOR = 16;

function metaNumber(v: number | bigint): MetaValue {
  if (typeof v === 'number') return v;
  return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
}

function byteSwap(bytes: Uint8Array, width: number): void {
  for (let i = 0; i + width <= bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

/**
 * Real checkpoints nest a handful of levels; a hostile pickle can nest a million (3 bytes a level)
 * and would overflow the JS stack in the recursive walks below.
 */
const MAX_DEPTH = 256;

function tooDeep(depth: number): void {
  if (depth > MAX_DEPTH) throw new PickleFormatError(`checkpoint objects nest deeper than ${MAX_DEPTH} levels`);
}

function containsTensor(x: unknown, seen = new Set<unknown>(), depth = 0): boolean {
  if (isTensorLike(x)) return true;
  if (x instanceof OmegaContainer || x instanceof OmegaNode) return containsTensor(omegaValue(x), seen, depth + 1);
  if (typeof x !== 'object' || x === null || seen.has(x)) return false;
  tooDeep(depth);
  seen.add(x);
  if (x instanceof Map) return [...x.values()].some((v) => containsTensor(v, seen, depth + 1));
  if (Array.isArray(x)) return x.some((v) => containsTensor(v, seen, depth + 1));
  if (x instanceof PyObject) return [...x.attrs.values()].some((v) => containsTensor(v, seen, depth + 1));
  return false;
}

function guessStateDictPath(root: unknown): string {
  if (!(root instanceof Map)) return '';
  if ([...root.values()].some(isTensorLike)) return '';
  for (const key of STATE_DICT_KEYS) {
    const v = (root as Map<unknown, unknown>).get(key);
    if (v instanceof Map && containsTensor(v)) return key;
  }
  return '';
}

function resolvePath(root: unknown, path: string, source: string): unknown {
  if (path === '') return root;
  let cur = root;
  for (const part of path.split('.')) {
    // path parts are spelled as the tensor names spell keys: list indices and int dict keys as digits
    const mapKey = cur instanceof Map ? [...(cur as Map<unknown, unknown>).keys()].find((k) => keyString(k) === part) : undefined;
    if (cur instanceof Map && (mapKey !== undefined || cur.has(part))) cur = cur.get(mapKey ?? part);
    else if (cur instanceof PyObject && cur.attrs.has(part)) cur = cur.attrs.get(part);
    else if (Array.isArray(cur) && /^\d+$/.test(part) && Number(part) < cur.length) cur = cur[Number(part)];
    else throw new StateDictPathError(`${source}: no '${path}' in the checkpoint (stuck at '${part}')`);
  }
  if (!(cur instanceof Map)) throw new StateDictPathError(`${source}: '${path}' is ${describeValue(cur)}, not a dict of tensors`);
  return cur;
}

function keyString(key: unknown): string {
  if (typeof key === 'string') return key;
  if (typeof key === 'number' || typeof key === 'bigint' || typeof key === 'boolean') return String(key);
  if (key === null) return 'None';
  if (Array.isArray(key)) return `(${key.map(keyString).join(', ')})`;
  return describeValue(key);
}

function join(prefix: string, key: unknown): string {
  const k = keyString(key);
  return prefix === '' ? k : `${prefix}.${k}`;
}

function walkTensors(x: unknown, path: string, visit: (name: string, t: TensorLike) => void, active = new Set<unknown>(), depth = 0): void {
  if (isTensorLike(x)) return visit(path, x);
  if (x instanceof OmegaContainer || x instanceof OmegaNode) return walkTensors(omegaValue(x), path, visit, active, depth + 1);
  if (typeof x !== 'object' || x === null || active.has(x)) return;
  tooDeep(depth);
  active.add(x);
  if (x instanceof Map) for (const [k, v] of x) walkTensors(v, join(path, k), visit, active, depth + 1);
  else if (Array.isArray(x)) x.forEach((v, i) => walkTensors(v, join(path, i), visit, active, depth + 1));
  else if (x instanceof PyObject) for (const [k, v] of x.attrs) walkTensors(v, join(path, k), visit, active, depth + 1);
  active.delete(x);
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** The checkpoint minus its state dict, as plain data. */
function toMeta(root: unknown, stateDict: unknown, onTensor: (path: string, t: TensorLike) => MetaValue): { [key: string]: MetaValue } {
  const active = new Set<unknown>();
  const conv = (x: unknown, path: string, depth = 0): MetaValue | undefined => {
    if (x === stateDict) return undefined;
    if (x === null || typeof x === 'boolean' || typeof x === 'number' || typeof x === 'string') return x;
    if (typeof x === 'bigint') return Number.isSafeInteger(Number(x)) ? Number(x) : x.toString();
    if (isTensorLike(x)) return onTensor(path, x);
    if (x instanceof OmegaContainer || x instanceof OmegaNode) return conv(omegaValue(x), path, depth + 1);
    if (x instanceof Uint8Array) return { $bytes: base64(x) };
    if (x instanceof PyGlobal) return typeof x.behaviour.value === 'string' ? x.behaviour.value : { $global: x.qualname };
    if (isStorageRef(x)) return { $storage: x.key, dtype: x.dtype, numel: x.numel };
    if (typeof x !== 'object' || x === undefined) return describeValue(x);
    if (active.has(x)) return '[circular]';
    tooDeep(depth);
    active.add(x);
    let out: MetaValue;
    if (Array.isArray(x) || x instanceof Set) {
      out = [...(x as Iterable<unknown>)].flatMap((v, i) => {
        const c = conv(v, join(path, i), depth + 1);
        return c === undefined ? [] : [c];
      });
    } else if (x instanceof Map || x instanceof PyObject) {
      const entries = x instanceof PyObject ? x.attrs : x;
      const pairs: [string, MetaValue][] = [];
      for (const [k, v] of entries) {
        const c = conv(v, join(path, k), depth + 1);
        if (c !== undefined) pairs.push([join('', k), c]);
      }
      // fromEntries defines own properties, so a key such as "__proto__" stays data
      out = Object.fromEntries<MetaValue>(pairs);
    } else out = describeValue(x);
    active.delete(x);
    return out;
  };
  if (root === stateDict) {
    // the root is the state dict: keep only its non-tensor entries
    const m: [string, MetaValue][] = [];
    if (root instanceof Map) {
      for (const [k, v] of root) {
        if (containsTensor(v)) continue;
        const c = conv(v, join('', k));
        if (c !== undefined) m.push([join('', k), c]);
      }
    }
    return Object.fromEntries<MetaValue>(m);
  }
  const m = conv(root, '');
  if (m !== null && typeof m === 'object' && !Array.isArray(m)) return m;
  return { value: m ?? null };
}
