"""A synthetic BEATs-base-shaped checkpoint of ~90M float32 parameters (~361 MB) for the load
benchmark: `{cfg, model}` like BEATs_iter3.pt. Not committed.

  /usr/bin/python3 make_big.py [OUT=/tmp/anopatch-bench/beats_like_90m.pt]
"""
import os
import sys
from collections import OrderedDict

import torch

out = sys.argv[1] if len(sys.argv) > 1 else '/tmp/anopatch-bench/beats_like_90m.pt'
os.makedirs(os.path.dirname(out), exist_ok=True)
g = torch.Generator().manual_seed(0)
D, F, L = 768, 3072, 12
sd = OrderedDict()


def p(name, *shape):
    sd[name] = torch.randn(*shape, generator=g) * 0.02


p('patch_embedding.weight', 512, 1, 16, 16)
p('layer_norm.weight', 512)
p('post_extract_proj.weight', D, 512)
p('encoder.pos_conv.0.weight_v', D, D // 16, 128)
for i in range(L):
    for m in ('q_proj', 'k_proj', 'v_proj', 'out_proj'):
        p(f'encoder.layers.{i}.self_attn.{m}.weight', D, D)
        p(f'encoder.layers.{i}.self_attn.{m}.bias', D)
    p(f'encoder.layers.{i}.fc1.weight', F, D)
    p(f'encoder.layers.{i}.fc2.weight', D, F)
    for n in ('self_attn_layer_norm', 'final_layer_norm'):
        p(f'encoder.layers.{i}.{n}.weight', D)
        p(f'encoder.layers.{i}.{n}.bias', D)
total = sum(t.numel() for t in sd.values())
# BEATs-base's encoder alone is ~90.25M; a label predictor tops up anything smaller to 90M
if total < 90_000_000:
    p('predictor.weight', 90_000_000 - total)
cfg = {'encoder_layers': L, 'encoder_embed_dim': D, 'encoder_ffn_embed_dim': F, 'embed_dim': 512, 'input_patch_size': 16}
torch.save({'cfg': cfg, 'model': sd}, out)
print(out, sum(t.numel() for t in sd.values()), 'parameters', os.path.getsize(out), 'bytes', len(sd), 'tensors')
