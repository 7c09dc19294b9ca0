"""Reference for the ImageBind audio backbone of @anopatch/vit-backbone (src/imagebind).

A plain-torch re-implementation of ImageBind's audio branch (facebookresearch/ImageBind
imagebind_model.py: AudioPreprocessor -> SimpleTransformer trunk -> the head's LayerNorm):
Conv2d(1, D, 16, stride 10, no bias) on the [1, mel, frames] spectrogram, LayerNorm (eps 1e-5) on
the patch tokens, one [CLS] token, learned position embeddings, pre-LN blocks (LayerNorm eps 1e-6)
whose attention is nn.MultiheadAttention with add_bias_kv=True (a learned extra key and value),
GELU MLP, then the head's LayerNorm (eps 1e-6) on every token. Clips are cut or padded to
target_len frames with the normalised zero log-mel (0 - mean) / std, as ImageBind's
waveform2melspec pads before Normalize(mean=-4.268, std=9.138).

The attention is written out by hand and checked here against torch.nn.MultiheadAttention.

Writes imagebind/: tiny_imagebind.pt (a state dict with the official names, plus a vision tensor
that must be reported unused), config.json (our cfg), per clip the fbank and every stage output.

Run: /usr/bin/python3 make_imagebind.py   (Debian python3-torch; outputs are committed)
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "imagebind")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(4)

CFG = {"embed_dim": 32, "num_blocks": 2, "num_heads": 4, "kernel_size": 16, "stride": 10, "num_mel_bins": 128, "target_len": 44, "drop_path": 0.1}
PAD = (0.0 - -4.268) / 9.138
D, H, K, S = CFG["embed_dim"], CFG["num_heads"], CFG["kernel_size"], CFG["stride"]
FP = (CFG["num_mel_bins"] - K) // S + 1
TP = (CFG["target_len"] - K) // S + 1
N = 1 + FP * TP
A = "modality_preprocessors.audio."
T = "modality_trunks.audio."


def rnd(*shape, std=0.2):
    return torch.randn(*shape) * std


sd = {
    A + "cls_token": rnd(1, 1, D),
    A + "rgbt_stem.proj.weight": rnd(D, 1, K, K, std=0.1),
    A + "rgbt_stem.norm_layer.weight": 1 + rnd(D, std=0.1),
    A + "rgbt_stem.norm_layer.bias": rnd(D, std=0.1),
    A + "pos_embedding_helper.pos_embed": rnd(1, N, D),
}
for i in range(CFG["num_blocks"]):
    b = f"{T}blocks.{i}."
    sd[b + "attn.in_proj_weight"] = rnd(3 * D, D, std=1 / math.sqrt(D))
    sd[b + "attn.in_proj_bias"] = rnd(3 * D, std=0.1)
    sd[b + "attn.bias_k"] = rnd(1, 1, D, std=0.5)
    sd[b + "attn.bias_v"] = rnd(1, 1, D, std=0.5)
    sd[b + "attn.out_proj.weight"] = rnd(D, D, std=1 / math.sqrt(D))
    sd[b + "attn.out_proj.bias"] = rnd(D, std=0.1)
    for n in ("norm_1", "norm_2"):
        sd[b + n + ".weight"] = 1 + rnd(D, std=0.1)
        sd[b + n + ".bias"] = rnd(D, std=0.1)
    sd[b + "mlp.fc1.weight"] = rnd(4 * D, D, std=1 / math.sqrt(D))
    sd[b + "mlp.fc1.bias"] = rnd(4 * D, std=0.1)
    sd[b + "mlp.fc2.weight"] = rnd(D, 4 * D, std=1 / math.sqrt(4 * D))
    sd[b + "mlp.fc2.bias"] = rnd(D, std=0.1)
sd["modality_heads.audio.0.weight"] = 1 + rnd(D, std=0.1)
sd["modality_heads.audio.0.bias"] = rnd(D, std=0.1)
sd["modality_heads.audio.2.weight"] = rnd(24, D)  # the joint-embedding projection: not part of the tokens
sd["modality_preprocessors.vision.cls_token"] = rnd(1, 1, 8)


def attention(x, b, dtype):
    """nn.MultiheadAttention(x, x, x) with add_bias_kv: bias_k / bias_v appended as one more key / value."""
    g = lambda n: sd[b + n].to(dtype)  # noqa: E731
    B, L, _ = x.shape
    hd = D // H
    q, k, v = F.linear(x, g("attn.in_proj_weight"), g("attn.in_proj_bias")).chunk(3, dim=-1)
    k = torch.cat([k, g("attn.bias_k").expand(B, 1, D)], 1)
    v = torch.cat([v, g("attn.bias_v").expand(B, 1, D)], 1)
    heads = lambda t: t.view(B, -1, H, hd).transpose(1, 2)  # noqa: E731
    w = (torch.matmul(heads(q) * hd**-0.5, heads(k).transpose(-1, -2))).softmax(-1)
    ctx = torch.matmul(w, heads(v)).transpose(1, 2).reshape(B, L, D)
    return F.linear(ctx, g("attn.out_proj.weight"), g("attn.out_proj.bias"))


def fit(x):
    n = CFG["target_len"]
    if x.shape[0] >= n:
        return x[:n]
    return torch.cat([x, torch.full((n - x.shape[0], x.shape[1]), PAD, dtype=x.dtype)], 0)


def forward(fbank, dtype, taps):
    g = lambda n: sd[n].to(dtype)  # noqa: E731
    x = fit(fbank.to(dtype)).t()[None, None]  # [1, 1, mel, frames]
    pe = F.conv2d(x, g(A + "rgbt_stem.proj.weight"), None, stride=S).flatten(2).transpose(1, 2)
    taps["patch_embed"] = pe
    pe = F.layer_norm(pe, (D,), g(A + "rgbt_stem.norm_layer.weight"), g(A + "rgbt_stem.norm_layer.bias"), 1e-5)
    h = torch.cat([g(A + "cls_token"), pe], 1) + g(A + "pos_embedding_helper.pos_embed")
    taps["embeddings"] = h
    for i in range(CFG["num_blocks"]):
        b = f"{T}blocks.{i}."
        ln = lambda t, n: F.layer_norm(t, (D,), g(b + n + ".weight"), g(b + n + ".bias"), 1e-6)  # noqa: E731
        a = attention(ln(h, "norm_1"), b, dtype)
        if i == 0:
            taps["layer0_attention"] = a
        h = h + a
        m = F.linear(F.gelu(F.linear(ln(h, "norm_2"), g(b + "mlp.fc1.weight"), g(b + "mlp.fc1.bias"))), g(b + "mlp.fc2.weight"), g(b + "mlp.fc2.bias"))
        h = h + m
        taps[f"layer_{i}"] = h
    taps["final"] = F.layer_norm(h, (D,), g("modality_heads.audio.0.weight"), g("modality_heads.audio.0.bias"), 1e-6)
    return taps["final"]


# the hand-written attention is torch's nn.MultiheadAttention(add_bias_kv=True)
with torch.no_grad():
    mha = torch.nn.MultiheadAttention(D, H, bias=True, add_bias_kv=True)
    b0 = f"{T}blocks.0."
    mha.in_proj_weight.copy_(sd[b0 + "attn.in_proj_weight"])
    mha.in_proj_bias.copy_(sd[b0 + "attn.in_proj_bias"])
    mha.bias_k.copy_(sd[b0 + "attn.bias_k"])
    mha.bias_v.copy_(sd[b0 + "attn.bias_v"])
    mha.out_proj.weight.copy_(sd[b0 + "attn.out_proj.weight"])
    mha.out_proj.bias.copy_(sd[b0 + "attn.out_proj.bias"])
    probe = torch.randn(2, 7, D)
    want = mha(probe.transpose(0, 1), probe.transpose(0, 1), probe.transpose(0, 1), need_weights=False)[0].transpose(0, 1)
    assert torch.allclose(attention(probe, b0, torch.float32), want, atol=1e-5), "attention does not match nn.MultiheadAttention"

clips = {"full": torch.randn(CFG["target_len"], 128) * 0.5, "short": torch.randn(29, 128) * 0.5, "long": torch.randn(57, 128) * 0.5}
with torch.no_grad():
    for clip, fb in clips.items():
        np.save(os.path.join(OUT, f"{clip}.fbank.npy"), fb.numpy())
        taps = {}
        forward(fb, torch.float32, taps)
        for k, v in taps.items():
            np.save(os.path.join(OUT, f"{clip}.{k}.npy"), np.ascontiguousarray(v[0].numpy()))
        np.save(os.path.join(OUT, f"{clip}.final_f64.npy"), np.ascontiguousarray(forward(fb, torch.float64, {})[0].numpy()))
torch.save(sd, os.path.join(OUT, "tiny_imagebind.pt"))
with open(os.path.join(OUT, "config.json"), "w") as f:
    json.dump(CFG, f, indent=2)
print("wrote", OUT, "tokens", N)
