"""A safetensors fixture written by the official `safetensors` library (numpy API), and a checker
for files our writer produced.

  python make_safetensors.py                 -> out/reference.safetensors + out/reference.safetensors.json
  python make_safetensors.py --check FILE    -> loads FILE with safetensors.numpy.load_file and prints a summary

Needs `safetensors` and numpy (any Python 3 environment with the wheel installed); `--check` uses torch
when it is importable, so bfloat16 files can be checked, and compares raw 16-bit patterns for halves.
"""
import json
import os
import sys

import numpy as np
from safetensors.numpy import load_file, save_file
from safetensors import safe_open

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'out')

if len(sys.argv) == 3 and sys.argv[1] == '--check':
    # torch when present (bfloat16 has no numpy dtype), numpy otherwise
    try:
        import torch
        framework = 'pt'
    except ImportError:
        framework = 'np'
    with safe_open(sys.argv[2], framework=framework) as f:
        meta = f.metadata()
        summary = {}
        for k in sorted(f.keys()):
            v = f.get_tensor(k)
            if framework == 'pt':
                raw = v.view(torch.int16).int() & 0xFFFF if v.dtype in (torch.float16, torch.bfloat16) else v.double()
                summary[k] = {'dtype': str(v.dtype), 'shape': list(v.shape), 'rawsum': float(raw.double().sum())}
            else:
                summary[k] = {'dtype': str(v.dtype), 'shape': list(v.shape), 'rawsum': float(v.astype(np.float64).sum())}
    print(json.dumps({'metadata': meta, 'tensors': summary}, indent=1))
    sys.exit(0)

rng = np.random.default_rng(11)
w = rng.standard_normal((3, 5)).astype(np.float32)
tensors = {
    'encoder.weight': w,
    'encoder.bias': rng.standard_normal(5).astype(np.float32),
    'half': w[:2].astype(np.float16),
    'f64': np.array([1.0 / 3.0, -2.5e300], dtype=np.float64),
    'steps': np.array([[2 ** 40, -1]], dtype=np.int64),
    'ids': np.arange(-2, 3, dtype=np.int32),
    'bytes': np.array([0, 7, 255], dtype=np.uint8),
    'mask': np.array([True, False, True]),
    'scalar': np.array(3.5, dtype=np.float32),
    'empty': np.zeros((0, 4), dtype=np.float32),
}
path = os.path.join(OUT, 'reference.safetensors')
save_file(tensors, path, metadata={'format': 'np', 'note': 'written by safetensors ' + __import__('safetensors').__version__})
expected = {
    k: {
        'dtype': str(v.dtype).replace('bool', 'bool'),
        'shape': list(v.shape),
        'values': (v.astype(np.float64).reshape(-1).tolist() if v.dtype.kind == 'f' else v.astype(np.int64).reshape(-1).tolist()),
        **({'bits': v.view(np.uint16).reshape(-1).tolist()} if v.dtype == np.float16 else {}),
    }
    for k, v in tensors.items()
}
with open(path + '.json', 'w') as f:
    json.dump({'safetensors': __import__('safetensors').__version__, 'metadata': {'format': 'np'}, 'tensors': expected}, f, indent=1, sort_keys=True)
print('wrote', path)
