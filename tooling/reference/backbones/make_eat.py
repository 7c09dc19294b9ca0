"""Reference for the EAT backbone of @anopatch/vit-backbone (src/eat).

A plain-torch re-implementation of EAT's encoder (cwx-worst-one/EAT, data2vec 2.0 image modality on
audio: models/images.py ImageEncoder + models/EAT_pretraining.py Data2VecMultiModel.extract_features
with mask=False): Conv2d(1, D, 16, stride 16) on the [1, frames, mel] image (time is the height),
fixed 2-D sin-cos position embeddings (MAE's get_2d_sincos_pos_embed_flexible on the (frames/16,
mel/16) grid), one extra [CLS] token prepended after the positions, the context encoder's LayerNorm
(prenet_depth 0, layer_norm_first False), then post-LN AltBlocks (fused qkv, LayerNorm eps 1e-6),
no final norm. Clips are cut or padded to target_length with the normalised zero log-mel
(0 - -4.268) / (2 * 4.569), as EAT's feature extraction pads before normalising.

Writes eat/: tiny_eat.pt (a state dict with EAT's fairseq names, including the fixed positions and a
decoder tensor that must be reported unused), config.json (our cfg), per clip fbank and stages.

Run: /usr/bin/python3 make_eat.py   (Debian python3-torch; outputs are committed)
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "eat")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(5)

CFG = {"embed_dim": 32, "depth": 2, "num_heads": 4, "mlp_ratio": 4, "patch_size": 16, "num_mel_bins": 128, "target_length": 64, "norm_eps": 1e-6}
PAD = (0.0 - -4.268) / (2 * 4.569)
D, H, P = CFG["embed_dim"], CFG["num_heads"], CFG["patch_size"]
GH, GW = CFG["target_length"] // P, CFG["num_mel_bins"] // P
M = "modality_encoders.IMAGE."


def sincos_1d(dim, pos):
    omega = np.arange(dim // 2, dtype=np.float32)
    omega /= dim / 2.0
    omega = 1.0 / 10000**omega
    out = np.einsum("m,d->md", pos.reshape(-1), omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def sincos_2d(dim, gh, gw):
    # meshgrid(w, h): the first half of the channels encodes the column (mel) index, the second the row (time)
    grid = np.stack(np.meshgrid(np.arange(gw, dtype=np.float32), np.arange(gh, dtype=np.float32)), axis=0).reshape(2, 1, gh, gw)
    return np.concatenate([sincos_1d(dim // 2, grid[0]), sincos_1d(dim // 2, grid[1])], axis=1)


def rnd(*shape, std=0.2):
    return torch.randn(*shape) * std


sd = {
    M + "local_encoder.proj.weight": rnd(D, 1, P, P, std=0.1),
    M + "local_encoder.proj.bias": rnd(D, std=0.1),
    M + "fixed_positional_encoder.positions": torch.from_numpy(sincos_2d(D, GH, GW)).float().unsqueeze(0),
    M + "extra_tokens": rnd(1, 1, D, std=1.0),
    M + "context_encoder.norm.weight": 1 + rnd(D, std=0.1),
    M + "context_encoder.norm.bias": rnd(D, std=0.1),
    M + "decoder.proj.weight": rnd(D, 8),
}
for i in range(CFG["depth"]):
    b = f"blocks.{i}."
    sd[b + "attn.qkv.weight"] = rnd(3 * D, D, std=1 / math.sqrt(D))
    sd[b + "attn.qkv.bias"] = rnd(3 * D, std=0.1)
    sd[b + "attn.proj.weight"] = rnd(D, D, std=1 / math.sqrt(D))
    sd[b + "attn.proj.bias"] = rnd(D, std=0.1)
    for n in ("norm1", "norm2"):
        sd[b + n + ".weight"] = 1 + rnd(D, std=0.1)
        sd[b + n + ".bias"] = rnd(D, std=0.1)
    hidden = CFG["mlp_ratio"] * D
    sd[b + "mlp.fc1.weight"] = rnd(hidden, D, std=1 / math.sqrt(D))
    sd[b + "mlp.fc1.bias"] = rnd(hidden, std=0.1)
    sd[b + "mlp.fc2.weight"] = rnd(D, hidden, std=1 / math.sqrt(hidden))
    sd[b + "mlp.fc2.bias"] = rnd(D, std=0.1)


def fit(x):
    n = CFG["target_length"]
    if x.shape[0] >= n:
        return x[:n]
    return torch.cat([x, torch.full((n - x.shape[0], x.shape[1]), PAD, dtype=x.dtype)], 0)


def forward(fbank, dtype, taps):
    g = lambda n: sd[n].to(dtype)  # noqa: E731
    eps = CFG["norm_eps"]
    x = fit(fbank.to(dtype))[None, None]  # [1, 1, frames, mel]
    x = F.conv2d(x, g(M + "local_encoder.proj.weight"), g(M + "local_encoder.proj.bias"), stride=P).flatten(2).transpose(1, 2)
    taps["patch_embed"] = x
    x = x + g(M + "fixed_positional_encoder.positions")
    x = torch.cat([g(M + "extra_tokens"), x], 1)
    x = F.layer_norm(x, (D,), g(M + "context_encoder.norm.weight"), g(M + "context_encoder.norm.bias"), eps)
    taps["embeddings"] = x
    hd = D // H
    for i in range(CFG["depth"]):
        b = f"blocks.{i}."
        q, k, v = F.linear(x, g(b + "attn.qkv.weight"), g(b + "attn.qkv.bias")).view(1, -1, 3, H, hd).permute(2, 0, 3, 1, 4)
        ctx = torch.matmul(((q * hd**-0.5) @ k.transpose(-2, -1)).softmax(-1), v)
        a = F.linear(ctx.transpose(1, 2).reshape(1, -1, D), g(b + "attn.proj.weight"), g(b + "attn.proj.bias"))
        if i == 0:
            taps["layer0_attention"] = a
        r = x = F.layer_norm(x + a, (D,), g(b + "norm1.weight"), g(b + "norm1.bias"), eps)
        m = F.linear(F.gelu(F.linear(x, g(b + "mlp.fc1.weight"), g(b + "mlp.fc1.bias"))), g(b + "mlp.fc2.weight"), g(b + "mlp.fc2.bias"))
        x = F.layer_norm(r + m, (D,), g(b + "norm2.weight"), g(b + "norm2.bias"), eps)
        taps[f"layer_{i}"] = x
    taps["final"] = x
    return x


clips = {"full": torch.randn(CFG["target_length"], 128) * 0.5, "short": torch.randn(37, 128) * 0.5, "long": torch.randn(80, 128) * 0.5}
with torch.no_grad():
    for clip, fb in clips.items():
        np.save(os.path.join(OUT, f"{clip}.fbank.npy"), fb.numpy())
        taps = {}
        forward(fb, torch.float32, taps)
        for k, v in taps.items():
            np.save(os.path.join(OUT, f"{clip}.{k}.npy"), np.ascontiguousarray(v[0].numpy()))
        np.save(os.path.join(OUT, f"{clip}.final_f64.npy"), np.ascontiguousarray(forward(fb, torch.float64, {})[0].numpy()))
np.save(os.path.join(OUT, "positions.npy"), sd[M + "fixed_positional_encoder.positions"][0].numpy())
torch.save(sd, os.path.join(OUT, "tiny_eat.pt"))
with open(os.path.join(OUT, "config.json"), "w") as f:
    json.dump(CFG, f, indent=2)
print("wrote", OUT, "tokens", 1 + GH * GW)
