import { PickleFormatError } from './errors.js';
import { describeValue, PyGlobal, PyObject, type Buildable } from './pickle.js';

/**
 * OmegaConf configs (Hydra / Lightning `hyper_parameters`), read as the plain data they hold:
 * a DictConfig/ListConfig becomes its `_content`, a value node its `_val`. Their metadata classes
 * are kept as inert attribute bags; nothing of OmegaConf's behaviour is reproduced.
 */

export class OmegaContainer implements Buildable {
  content: unknown = null;
  constructor(
    readonly className: string,
    private readonly source: string,
  ) {}
  setState(state: unknown): void {
    if (!(state instanceof Map)) throw new PickleFormatError(`${this.source}: ${this.className} state is ${describeValue(state)}, not a dict`);
    this.content = state.get('_content') ?? null;
  }
}

export class OmegaNode implements Buildable {
  value: unknown = null;
  constructor(
    readonly className: string,
    private readonly source: string,
  ) {}
  setState(state: unknown): void {
    if (!(state instanceof Map)) throw new PickleFormatError(`${this.source}: ${this.className} state is ${describeValue(state)}, not a dict`);
    this.value = state.get('_val') ?? null;
  }
}

const CONTAINERS = new Set(['omegaconf.dictconfig.DictConfig', 'omegaconf.listconfig.ListConfig']);
const NODES = new Set(['AnyNode', 'StringNode', 'IntegerNode', 'FloatNode', 'BooleanNode', 'BytesNode', 'PathNode', 'ValueNode'].map((n) => `omegaconf.nodes.${n}`));
const METADATA = new Set(['omegaconf.base.Metadata', 'omegaconf.base.ContainerMetadata']);
/** Types that OmegaConf metadata names (ref_type, object_type, key_type): values, never called. */
const TYPE_MARKERS = new Set([
  'typing.Any',
  ...['dict', 'list', 'int', 'float', 'str', 'bool', 'bytes', 'object', 'tuple'].map((n) => `builtins.${n}`),
  ...['dict', 'list', 'int', 'long', 'float', 'str', 'unicode', 'bool', 'object', 'tuple'].map((n) => `__builtin__.${n}`),
]);

export function omegaconfGlobal(qualname: string, source: string): PyGlobal | undefined {
  if (CONTAINERS.has(qualname)) return new PyGlobal(qualname, { construct: () => new OmegaContainer(qualname, source) });
  if (NODES.has(qualname)) return new PyGlobal(qualname, { construct: () => new OmegaNode(qualname, source) });
  if (METADATA.has(qualname)) return new PyGlobal(qualname, { construct: () => new PyObject(qualname) });
  if (TYPE_MARKERS.has(qualname)) return new PyGlobal(qualname, {});
  return undefined;
}

/** The plain value an OmegaConf object stands for (anything else is returned as is). */
export function omegaValue(x: unknown): unknown {
  if (x instanceof OmegaContainer) return x.content;
  if (x instanceof OmegaNode) return x.value;
  return x;
}
