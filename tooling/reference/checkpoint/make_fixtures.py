"""Small torch.save fixtures for @anopatch/checkpoint's tests.

Run with Debian's python3-torch (torch 1.13) and python3-omegaconf (2.2):  /usr/bin/python3 make_fixtures.py
Writes out/*.pt|*.ckpt and out/expected.json (every tensor's dtype, shape, C-order values, and for
float16/bfloat16 the raw 16-bit patterns). Deterministic: fixed generator seeds; the zip bytes
depend only on the torch version.
"""
import argparse
import io
import json
import os
import pickle
import sys
import types
import zipfile
from collections import OrderedDict

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'out')
os.makedirs(OUT, exist_ok=True)
expected = {}


def describe(t):
    d = {'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape)}
    c = t.contiguous()
    if t.dtype in (torch.float16, torch.bfloat16):
        d['bits'] = [int(b) & 0xFFFF for b in c.view(torch.int16).reshape(-1).tolist()]
        d['values'] = c.float().reshape(-1).tolist()
    elif t.dtype == torch.bool:
        d['values'] = [int(b) for b in c.reshape(-1).tolist()]
    else:
        d['values'] = c.reshape(-1).tolist()
    # JSON has no inf/nan: spell them as strings
    d['values'] = [v if not isinstance(v, float) or v == v and abs(v) != float('inf') else repr(v) for v in d['values']]
    return d


def record(fixture, obj, prefix=''):
    """expected[fixture][dotted name] for every tensor reachable through dicts/lists."""
    table = expected.setdefault(fixture, {})
    if isinstance(obj, torch.Tensor):
        table[prefix] = describe(obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            record(fixture, v, f'{prefix}.{k}' if prefix else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            record(fixture, v, f'{prefix}.{i}' if prefix else str(i))


def save(name, obj):
    torch.save(obj, os.path.join(OUT, name))
    record(name, obj)


g = torch.Generator().manual_seed(7)

# --- dtypes: fp16/bf16 and the integer/bool kinds ---------------------------------------------
w = torch.randn(5, 7, generator=g)
save('dtypes.pt', {
    'half': w.half(),
    'bf16': w.bfloat16(),
    'f64': w.double()[:2],
    'i64': torch.tensor([2 ** 40, -5, 0], dtype=torch.int64),
    'i32': torch.arange(-3, 3, dtype=torch.int32),
    'i16': torch.tensor([-300, 7], dtype=torch.int16),
    'i8': torch.tensor([-128, 127, 1], dtype=torch.int8),
    'u8': torch.tensor([0, 200, 255], dtype=torch.uint8),
    'mask': w[0] > 0,
    'special': torch.tensor([float('inf'), float('-inf'), 65504.0, 6.1e-5, 1e-7], dtype=torch.float16),
})

# --- views: offsets, strides, shared storage, aliases, 0-d and empty --------------------------
base = torch.arange(60, dtype=torch.float32).reshape(3, 4, 5)
flat = base.reshape(-1)
save('views.pt', {
    'base': base,
    'alias': base,                                    # the same tensor object twice
    'row': base[1],                                   # storage offset 20, contiguous
    'col': base[:, 2],                                # offset 10, strides (20, 1)
    'transposed': base.transpose(0, 2),               # strides (1, 5, 20)
    'permuted': base.permute(1, 2, 0),
    'narrow': flat[7:19],                             # offset 7
    'step': flat[::7],                                # stride 7
    'expanded': torch.arange(3.0).reshape(3, 1).expand(3, 4),  # stride (1, 0)
    'scalar': base[2, 3, 4],                          # 0-d at offset 59
    'empty': base[:, :0],
    'half_t': torch.randn(3, 4, generator=g).half().t(),  # non-contiguous float16
})

# --- Lightning-style .ckpt --------------------------------------------------------------------
# A stand-in for pytorch_lightning's AttributeDict, pickled under its real name.
for mod in ('pytorch_lightning', 'pytorch_lightning.utilities', 'pytorch_lightning.utilities.parsing'):
    sys.modules.setdefault(mod, types.ModuleType(mod))
AttributeDict = type('AttributeDict', (dict,), {'__module__': 'pytorch_lightning.utilities.parsing'})
sys.modules['pytorch_lightning.utilities.parsing'].AttributeDict = AttributeDict

enc_w = torch.randn(4, 3, generator=g)
state_dict = OrderedDict([
    ('model.encoder.weight', enc_w),
    ('model.encoder.bias', torch.randn(4, generator=g)),
    ('model.bn.running_mean', torch.zeros(4)),
    ('model.bn.num_batches_tracked', torch.tensor(7)),
    ('teacher.encoder.weight', enc_w),                 # weight shared with the student
])
state_dict._metadata = OrderedDict([('model', {'version': 1})])
save('lightning.ckpt', {
    'epoch': 3,
    'global_step': 120,
    'pytorch-lightning_version': '1.9.5',
    'state_dict': state_dict,
    'loops': {'fit_loop': {'state_dict': {}, 'epoch_progress': {'total': {'ready': 4, 'completed': 3}}}},
    'callbacks': {"ModelCheckpoint{'monitor': 'val_loss', 'mode': 'min'}": {
        'best_model_score': torch.tensor(0.25), 'best_model_path': '/runs/x/best.ckpt', 'kth_value': torch.tensor(float('inf'))}},
    'optimizer_states': [{'state': {0: {'step': torch.tensor(120.0), 'exp_avg': torch.full((4, 3), 0.5)}},
                          'param_groups': [{'lr': 1e-3, 'betas': (0.9, 0.999), 'weight_decay': 0.01, 'params': [0, 1]}]}],
    'lr_schedulers': [{'last_epoch': 3, '_last_lr': [0.001], 'milestones': {10: 1, 20: 1}}],
    'hparams_name': 'kwargs',
    'hyper_parameters': AttributeDict(lr=0.001, n_mels=128, arch='atst_frame', milestones=[10, 20], tags=frozenset(['a'])),
})

# --- fairseq-style nesting with an argparse.Namespace, saved through a BytesIO ('archive/' prefix)
buf = io.BytesIO()
nested = {
    'args': argparse.Namespace(arch='data2vec_audio', lr=[0.0005], max_tokens=1400000, normalize=True, encoder_layers=2),
    'model': OrderedDict([('encoder.layers.0.fc1.weight', torch.randn(2, 3, generator=g)), ('encoder.layers.0.fc1.bias', torch.randn(2, generator=g))]),
    'optimizer_history': [{'criterion_name': 'ModelCriterion', 'optimizer_name': 'AdamOptimizer', 'num_updates': 400000, 'lr_scheduler_state': {'best': None}}],
    'extra_state': {'epoch': 11, 'shape': torch.Size([2, 3]), 'dtype': torch.float16, 'device': torch.device('cpu'),
                    # numpy objects as fairseq leaves them in extra_state
                    'val_loss': np.float64(2.75), 'best': np.float32(1.25), 'updates': np.int64(400000), 'flag': np.bool_(True),
                    'arr': np.arange(6, dtype=np.float32).reshape(2, 3), 'arr_f': np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3)),
                    'arr_be': np.arange(3, dtype='>i4')},
}
torch.save(nested, buf)
with open(os.path.join(OUT, 'nested.pt'), 'wb') as f:
    f.write(buf.getvalue())
record('nested.pt', nested)

# --- the same kind of content under pickle protocols 1 and 4 (torch.save's pickle_protocol) -----
for proto in (1, 4):
    obj = {
        'args': argparse.Namespace(lr=0.5, name='x', sizes=(1, 2)),
        'model': OrderedDict([('w', torch.arange(6.0).reshape(2, 3).t()), ('n', torch.tensor(3))]),
        'extra': {'f': 1.25, 'big': 2 ** 70, 'neg': -7, 's': frozenset([1]), 'b': b'\x00\xff', 'u': 'caf\u00e9'},
    }
    torch.save(obj, os.path.join(OUT, f'proto{proto}.pt'), pickle_protocol=proto)
    record(f'proto{proto}.pt', obj)

# --- a Hydra-style Lightning checkpoint whose hyper_parameters are an OmegaConf DictConfig ------
from omegaconf import OmegaConf  # Debian python3-omegaconf

hp = OmegaConf.create({'lr': 0.0005, 'model': {'arch': 'atst_frame', 'layers': [12, 768], 'dropout': None},
                       'warmup_lr': '${lr}', 'data': {'sr': 16000, 'path': '???'}, 'flag': True})
save('hydra.ckpt', {'epoch': 1, 'state_dict': OrderedDict([('encoder.w', torch.ones(2, 2))]), 'hyper_parameters': hp})

# --- formats we refuse with a clear message ----------------------------------------------------
torch.save({'w': torch.ones(2)}, os.path.join(OUT, 'legacy.pt'), _use_new_zipfile_serialization=False)
torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), os.path.join(OUT, 'torchscript.pt'))


# --- hostile archives: the torch zip layout around pickles that must never run ----------------
def torch_zip(name, pickle_bytes, data=None):
    stem = name.split('.')[0]
    def member(n):  # a fixed timestamp keeps the bytes reproducible
        return zipfile.ZipInfo(n, date_time=(2020, 1, 1, 0, 0, 0))
    with zipfile.ZipFile(os.path.join(OUT, name), 'w', compression=zipfile.ZIP_STORED) as z:
        z.writestr(member(f'{stem}/data.pkl'), pickle_bytes)
        for key, raw in (data or {}).items():
            z.writestr(member(f'{stem}/data/{key}'), raw)
        z.writestr(member(f'{stem}/version'), '3\n')


class System:
    def __reduce__(self):
        return (os.system, ('touch /tmp/anopatch-checkpoint-pwned',))


torch_zip('evil_system.pt', pickle.dumps({'model': OrderedDict(), 'x': System()}, protocol=2))


class Unknown:
    def __init__(self):
        self.payload = 1


Unknown.__module__ = 'evil_module'
sys.modules['evil_module'] = types.ModuleType('evil_module')
sys.modules['evil_module'].Unknown = Unknown
torch_zip('evil_unknown.pt', pickle.dumps({'cfg': Unknown()}, protocol=2))

# a storage that claims 16 floats whose data file holds 5
good = io.BytesIO()
torch.save({'w': torch.arange(16.0)}, good)
with zipfile.ZipFile(io.BytesIO(good.getvalue())) as z:
    pkl = z.read('archive/data.pkl')
    raw = z.read('archive/data/0')
torch_zip('short_storage.pt', pkl, {'0': raw[:20]})

with open(os.path.join(OUT, 'expected.json'), 'w') as f:
    json.dump({'torch': torch.__version__, 'fixtures': expected}, f, indent=1, sort_keys=True, allow_nan=False)
print('wrote', sorted(os.listdir(OUT)))
