"""Reference for the AST backbone of @anopatch/vit-backbone (packages/vit-backbone/src/ast).

A plain-torch re-implementation of Hugging Face's ASTModel forward (audio_spectrogram_transformer):
Conv2d patch embedding (kernel 16, frequency/time strides) on the [B, 1, mel, frames] spectrogram,
[CLS] + distillation tokens, learned position embeddings, pre-LN ViT layers, final LayerNorm.
Inputs are normalised fbank frames; like ASTFeatureExtractor, clips are cut or padded to max_length,
the padding being the normalised value of a zero log-mel ((0 - mean) / (2 std)).

Writes ast/ (a Hugging Face model directory: config.json + pytorch_model.bin with ASTModel names)
and ast/*.npy: inputs and every stage output, float32 (and the final tokens in float64).

Run: /usr/bin/python3 make_ast.py   (Debian python3-torch; outputs are committed)
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ast")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)

CFG = {
    "model_type": "audio-spectrogram-transformer",
    "architectures": ["ASTForAudioClassification"],
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 64,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-12,
    "patch_size": 16,
    "qkv_bias": True,
    "frequency_stride": 10,
    "time_stride": 10,
    "max_length": 60,
    "num_mel_bins": 128,
}
MEAN, STD = -4.2677393, 4.5689974
PAD = (0.0 - MEAN) / (2 * STD)

D = CFG["hidden_size"]
H = CFG["num_attention_heads"]
I = CFG["intermediate_size"]
P = CFG["patch_size"]
FOUT = (CFG["num_mel_bins"] - P) // CFG["frequency_stride"] + 1
TOUT = (CFG["max_length"] - P) // CFG["time_stride"] + 1
N = FOUT * TOUT + 2


def rnd(*shape, std=0.2):
    return torch.randn(*shape) * std


sd = {
    "embeddings.cls_token": rnd(1, 1, D),
    "embeddings.distillation_token": rnd(1, 1, D),
    "embeddings.position_embeddings": rnd(1, N, D),
    "embeddings.patch_embeddings.projection.weight": rnd(D, 1, P, P, std=0.1),
    "embeddings.patch_embeddings.projection.bias": rnd(D),
}
for i in range(CFG["num_hidden_layers"]):
    l = f"encoder.layer.{i}"
    for name, (o, inp) in {
        "attention.attention.query": (D, D),
        "attention.attention.key": (D, D),
        "attention.attention.value": (D, D),
        "attention.output.dense": (D, D),
        "intermediate.dense": (I, D),
        "output.dense": (D, I),
    }.items():
        sd[f"{l}.{name}.weight"] = rnd(o, inp, std=1 / math.sqrt(inp))
        sd[f"{l}.{name}.bias"] = rnd(o, std=0.1)
    for ln in ("layernorm_before", "layernorm_after"):
        sd[f"{l}.{ln}.weight"] = 1 + rnd(D, std=0.1)
        sd[f"{l}.{ln}.bias"] = rnd(D, std=0.1)
sd["layernorm.weight"] = 1 + rnd(D, std=0.1)
sd["layernorm.bias"] = rnd(D, std=0.1)


def fit(x, pad):
    """ASTFeatureExtractor: cut to max_length or pad (at the end) to it."""
    n = CFG["max_length"]
    if x.shape[0] >= n:
        return x[:n]
    return torch.cat([x, torch.full((n - x.shape[0], x.shape[1]), pad, dtype=x.dtype)], 0)


def ln(x, name):
    return F.layer_norm(x, (D,), sd[f"{name}.weight"].to(x.dtype), sd[f"{name}.bias"].to(x.dtype), CFG["layer_norm_eps"])


def lin(x, name):
    return F.linear(x, sd[f"{name}.weight"].to(x.dtype), sd[f"{name}.bias"].to(x.dtype))


def forward(fbank, dtype, taps):
    x = fit(fbank.to(dtype), PAD).unsqueeze(0)  # [1, T, mel]
    taps["input"] = x
    x = x.unsqueeze(1).transpose(2, 3)  # [1, 1, mel, T]
    w = sd["embeddings.patch_embeddings.projection.weight"].to(dtype)
    b = sd["embeddings.patch_embeddings.projection.bias"].to(dtype)
    pe = F.conv2d(x, w, b, stride=(CFG["frequency_stride"], CFG["time_stride"]))
    pe = pe.flatten(2).transpose(1, 2)  # patch index = f * TOUT + t
    taps["patch_embed"] = pe
    h = torch.cat([sd["embeddings.cls_token"].to(dtype), sd["embeddings.distillation_token"].to(dtype), pe], 1)
    h = h + sd["embeddings.position_embeddings"].to(dtype)
    taps["embeddings"] = h
    hd = D // H
    for i in range(CFG["num_hidden_layers"]):
        l = f"encoder.layer.{i}"
        a = ln(h, f"{l}.layernorm_before")
        q = lin(a, f"{l}.attention.attention.query").view(1, -1, H, hd).transpose(1, 2)
        k = lin(a, f"{l}.attention.attention.key").view(1, -1, H, hd).transpose(1, 2)
        v = lin(a, f"{l}.attention.attention.value").view(1, -1, H, hd).transpose(1, 2)
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)
        ctx = torch.matmul(s.softmax(-1), v).transpose(1, 2).reshape(1, -1, D)
        att = lin(ctx, f"{l}.attention.output.dense")
        if i == 0:
            taps["layer0_attention"] = att
        h = h + att
        f = F.gelu(lin(ln(h, f"{l}.layernorm_after"), f"{l}.intermediate.dense"))
        h = h + lin(f, f"{l}.output.dense")
        taps[f"layer_{i}"] = h
    taps["final"] = ln(h, "layernorm")
    return taps["final"]


def save(name, t):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(t.detach().numpy()))


clips = {
    "full": torch.randn(CFG["max_length"], 128) * 0.5,  # exactly max_length frames
    "short": torch.randn(41, 128) * 0.5,  # padded to max_length
    "long": torch.randn(75, 128) * 0.5,  # cut to max_length
}
with torch.no_grad():
    for clip, fb in clips.items():
        save(f"{clip}.fbank", fb)
        taps = {}
        forward(fb, torch.float32, taps)
        for k, v in taps.items():
            if k != "input":
                save(f"{clip}.{k}", v[0])
        save(f"{clip}.final_f64", forward(fb, torch.float64, {})[0])

torch.save(sd, os.path.join(OUT, "pytorch_model.bin"))
with open(os.path.join(OUT, "config.json"), "w") as f:
    json.dump(CFG, f, indent=2)
with open(os.path.join(OUT, "meta.json"), "w") as f:
    json.dump({"pad_value": PAD, "frequency_patches": FOUT, "time_patches": TOUT, "tokens": N}, f, indent=2)
print("wrote", OUT, "tokens", N)
