"""Training-mode reference for the attentive statistics pooling head (packages/anopatch/src/pooling).

SpeechBrain's AttentiveStatisticsPooling(global_context=True) + Linear, re-implemented in torch
from speechbrain/lobes/models/ECAPA_TDNN.py (same state-dict names; the fixture README in
shared/fixtures/reference describes it), loaded from the shared fixture head/*.npy, run in
TRAINING mode (BatchNorm1d on batch statistics, momentum 0.1) on a batch of two token sequences
(clip_a.final, clip_b.final cropped to clip_a's 96 patches). Writes:
  pooling_train/input.npy            [2, 96, 64] tokens (channels-last, as our code takes them)
  pooling_train/probe.npy            [2, 16]     fixed random R; loss = sum(embedding * R)
  pooling_train/embedding.npy        [2, 16]
  pooling_train/pooled.npy           [2, 128]
  pooling_train/grad.<name>.npy      d loss / d param for every trainable param, and grad.input.npy
  pooling_train/running_mean.npy, running_var.npy   BN buffers after the step
It also checks that the eval-mode run reproduces the fixture's clip_a.embedding.npy.

Run: /usr/bin/python3 make_pooling_reference.py [fixture dir]   (output is committed)
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

FIX = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../../../shared/fixtures/reference")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pooling_train")
os.makedirs(OUT, exist_ok=True)
names = [l.strip() for l in open(os.path.join(FIX, "head/names.txt")) if l.strip()]
P = {n: torch.tensor(np.load(os.path.join(FIX, "head", n + ".npy"))) for n in names}
TRAINABLE = ["asp.tdnn.conv.conv.weight", "asp.tdnn.conv.conv.bias", "asp.tdnn.norm.norm.weight", "asp.tdnn.norm.norm.bias",
             "asp.conv.conv.weight", "asp.conv.conv.bias", "fc.weight", "fc.bias"]
params = {n: P[n].clone().requires_grad_(True) for n in TRAINABLE}
rm = P["asp.tdnn.norm.norm.running_mean"].clone()
rv = P["asp.tdnn.norm.norm.running_var"].clone()
EPS = 1e-12


def stats(x, m):
    mean = (m * x).sum(2)
    std = torch.sqrt((m * (x - mean.unsqueeze(2)).pow(2)).sum(2).clamp(EPS))
    return mean, std


def head(x, training):
    """x [B, C, T] as SpeechBrain takes it."""
    T = x.shape[-1]
    m = torch.ones(x.shape[0], 1, T) / T
    mean, std = stats(x, m)
    a = torch.cat([x, mean.unsqueeze(2).repeat(1, 1, T), std.unsqueeze(2).repeat(1, 1, T)], dim=1)
    a = F.conv1d(a, params["asp.tdnn.conv.conv.weight"], params["asp.tdnn.conv.conv.bias"])
    a = torch.relu(a)
    a = F.batch_norm(a, rm, rv, params["asp.tdnn.norm.norm.weight"], params["asp.tdnn.norm.norm.bias"], training=training, momentum=0.1, eps=1e-5)
    a = F.conv1d(torch.tanh(a), params["asp.conv.conv.weight"], params["asp.conv.conv.bias"])
    attn = F.softmax(a, dim=2)
    mean, std = stats(x, attn)
    pooled = torch.cat([mean, std], dim=1)
    return pooled, F.linear(pooled, params["fc.weight"], params["fc.bias"])


# sanity: eval mode reproduces the shared fixture
xa = torch.tensor(np.load(os.path.join(FIX, "clip_a.final.npy")))
with torch.no_grad():
    _, e = head(xa.T.unsqueeze(0), training=False)
ref = np.load(os.path.join(FIX, "clip_a.embedding.npy"))
assert np.abs(e[0].numpy() - ref).max() < 1e-5, np.abs(e[0].numpy() - ref).max()

xb = torch.tensor(np.load(os.path.join(FIX, "clip_b.final.npy")))[:96]
tokens = torch.stack([xa, xb]).requires_grad_(True)  # [2, 96, 64]
g = torch.Generator().manual_seed(7)
R = torch.randn(2, 16, generator=g)
pooled, emb = head(tokens.transpose(1, 2), training=True)
loss = (emb * R).sum()
loss.backward()

np.save(os.path.join(OUT, "input.npy"), tokens.detach().numpy().astype(np.float32))
np.save(os.path.join(OUT, "probe.npy"), R.numpy().astype(np.float32))
np.save(os.path.join(OUT, "embedding.npy"), emb.detach().numpy().astype(np.float32))
np.save(os.path.join(OUT, "pooled.npy"), pooled.detach().numpy().astype(np.float32))
np.save(os.path.join(OUT, "grad.input.npy"), tokens.grad.numpy().astype(np.float32))
for n, p in params.items():
    np.save(os.path.join(OUT, f"grad.{n}.npy"), p.grad.numpy().astype(np.float32))
np.save(os.path.join(OUT, "running_mean.npy"), rm.numpy().astype(np.float32))
np.save(os.path.join(OUT, "running_var.npy"), rv.numpy().astype(np.float32))
print("wrote", OUT, "loss", float(loss))
