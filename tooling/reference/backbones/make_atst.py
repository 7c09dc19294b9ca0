"""Reference for the ATST-Frame backbone of @anopatch/vit-backbone (src/atst).

ATST-Frame as its embedding code runs it (Audio-WestlakeU/audiossl, methods/atstframe/embedding.py
and audio_transformer.py FrameAST): torchaudio MelSpectrogram(16 kHz, n_fft = win = 1024, hop 160,
f_min 60, f_max 7800, 64 mels; Hann window, centred with reflect padding, power 2), AmplitudeToDB
(power, top_db 80: clamped at the clip's max - 80 dB), MinMax(-79.6482, 50.6842) to [-1, 1], then
FrameAST: 64 x 4 patches (all mels x 4 frames) through a Linear (features ordered mel-major),
learned position embeddings taken from index 1 ('cut'), pre-LN blocks (fused qkv without bias,
LayerNorm eps 1e-6), final LayerNorm `norm_frame`. The mel front end uses torchaudio itself.

Writes atst/: tiny_atst.ckpt-like state dict (tiny_atst.pt, FrameAST names under
model.teacher.encoder. as the Lightning checkpoint stores them, plus a student tensor and mask_embed
that must be reported unused), config.json (our cfg), per clip the waveform and stage outputs.

Run: /usr/bin/python3 make_atst.py   (Debian python3-torch + python3-torchaudio; outputs are committed)
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "atst")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(6)

CFG = {"embed_dim": 32, "depth": 2, "num_heads": 4, "mlp_ratio": 4, "patch_h": 64, "patch_w": 4, "spec_w": 101, "drop_path_rate": 0.1}
D, H = CFG["embed_dim"], CFG["num_heads"]
PH, PW = CFG["patch_h"], CFG["patch_w"]
NPOS = 1 + CFG["spec_w"] // PW
P = "model.teacher.encoder."

melspec = torchaudio.transforms.MelSpectrogram(16000, f_min=60, f_max=7800, hop_length=160, win_length=1024, n_fft=1024, n_mels=64)
to_db = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=80)
MIN, MAX = -79.6482, 50.6842


def rnd(*shape, std=0.2):
    return torch.randn(*shape) * std


sd = {
    P + "patch_embed.patch_embed.weight": rnd(D, PH * PW, std=1 / math.sqrt(PH * PW)),
    P + "patch_embed.patch_embed.bias": rnd(D, std=0.1),
    P + "pos_embed": rnd(1, NPOS, D),
    P + "mask_embed": rnd(1, 1, D),
    P + "norm_frame.weight": 1 + rnd(D, std=0.1),
    P + "norm_frame.bias": rnd(D, std=0.1),
    "model.student.encoder.pos_embed": rnd(1, NPOS, D),
}
for i in range(CFG["depth"]):
    b = f"{P}blocks.{i}."
    sd[b + "attn.qkv.weight"] = rnd(3 * D, D, std=1 / math.sqrt(D))
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


def forward(wave, dtype, taps):
    g = lambda n: sd[n].to(dtype)  # noqa: E731
    with torch.no_grad():
        mel = melspec(wave.float()[None, None])  # [1, 1, 64, frames], float32 as the official transform runs
        db = to_db(mel)
        x = ((db - MIN) / (MAX - MIN) * 2.0 - 1.0).to(dtype)
    taps["melspec"] = x[0, 0].t()  # [frames, 64]
    frames = x.shape[-1]
    width = frames - frames % PW
    # Rearrange('b c (h p1) (w p2) -> b (w h) (p1 p2 c)'): one token per 4 frames, features (mel, frame)
    patches = x[:, :, :, :width].reshape(1, 1, 1, PH, width // PW, PW).permute(0, 4, 2, 3, 5, 1).reshape(1, width // PW, PH * PW)
    h = F.linear(patches, g(P + "patch_embed.patch_embed.weight"), g(P + "patch_embed.patch_embed.bias"))
    taps["patch_embed"] = h
    T = h.shape[1]
    h = h + g(P + "pos_embed")[:, 1 : T + 1]
    taps["embeddings"] = h
    hd = D // H
    for i in range(CFG["depth"]):
        b = f"{P}blocks.{i}."
        ln = lambda t, n: F.layer_norm(t, (D,), g(b + n + ".weight"), g(b + n + ".bias"), 1e-6)  # noqa: E731
        a = ln(h, "norm1")
        q, k, v = F.linear(a, g(b + "attn.qkv.weight")).view(1, T, 3, H, hd).permute(2, 0, 3, 1, 4)
        att = F.linear(torch.matmul((torch.matmul(q, k.transpose(-2, -1)) * hd**-0.5).softmax(-1), v).transpose(1, 2).reshape(1, T, D), g(b + "attn.proj.weight"), g(b + "attn.proj.bias"))
        if i == 0:
            taps["layer0_attention"] = att
        h = h + att
        h = h + F.linear(F.gelu(F.linear(ln(h, "norm2"), g(b + "mlp.fc1.weight"), g(b + "mlp.fc1.bias"))), g(b + "mlp.fc2.weight"), g(b + "mlp.fc2.bias"))
        taps[f"layer_{i}"] = h
    taps["final"] = F.layer_norm(h, (D,), g(P + "norm_frame.weight"), g(P + "norm_frame.bias"), 1e-6)
    return taps["final"]


t = torch.arange(16000) / 16000.0
clips = {
    # a chirp plus noise: energy spread over mels and frames, so the top_db clamp bites somewhere
    "clip_a": (0.4 * torch.sin(2 * math.pi * (200 + 1500 * t[:16000]) * t[:16000]) + 0.02 * torch.randn(16000)),
    "clip_b": (0.3 * torch.sin(2 * math.pi * 700 * t[:10240]) * torch.exp(-3 * t[:10240]) + 0.001 * torch.randn(10240)),
}
with torch.no_grad():
    for clip, wave in clips.items():
        np.save(os.path.join(OUT, f"{clip}.wave.npy"), wave.float().numpy())
        taps = {}
        forward(wave, torch.float32, taps)
        for k, v in taps.items():
            arr = v[0] if v.dim() == 3 else v
            np.save(os.path.join(OUT, f"{clip}.{k}.npy"), np.ascontiguousarray(arr.float().numpy()))
        np.save(os.path.join(OUT, f"{clip}.final_f64.npy"), np.ascontiguousarray(forward(wave, torch.float64, {})[0].numpy()))
torch.save(sd, os.path.join(OUT, "tiny_atst.pt"))
with open(os.path.join(OUT, "config.json"), "w") as f:
    json.dump(CFG, f, indent=2)
print("wrote", OUT)
