"""Reference for the wav2vec 2.0-family backbones of @anopatch/vit-backbone (src/wav2vec2).

A plain-torch re-implementation of Hugging Face's Wav2Vec2Model / HubertModel forward (eval mode):
the 7-layer conv feature extractor ('group' norm on layer 0, or 'layer' norm on every layer), the
feature projection (LayerNorm + Linear), the weight-normed grouped positional conv with SamePad and
GELU, and the post-LN (do_stable_layer_norm=False) or pre-LN (True) transformer encoder.

Two tiny models, each a Hugging Face model directory (config.json + pytorch_model.bin):
  wav2vec2/  large-style: feat_extract_norm='layer', conv_bias, do_stable_layer_norm, names under
             `wav2vec2.` as Wav2Vec2ForPreTraining stores them (plus a quantizer tensor, unused)
  hubert/    base-style: feat_extract_norm='group', no conv bias, post-LN, HubertModel names
  wavlm/     WavLM (large-style): as wav2vec2/ plus the gated relative position bias of WavLMAttention
             (T5 buckets from layer 0's rel_attn_embed, shared by all layers, gated per head and query
             from the attention input through gru_rel_pos_linear / gru_rel_pos_const)
and per clip the waveform and stage outputs as .npy (float32; the final tokens also in float64).

Run: /usr/bin/python3 make_wav2vec2.py   (Debian python3-torch; outputs are committed)
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))

BASE = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 64,
    "hidden_act": "gelu",
    "hidden_dropout": 0.1,
    "activation_dropout": 0.0,
    "attention_dropout": 0.1,
    "feat_proj_dropout": 0.0,
    "layerdrop": 0.1,
    "layer_norm_eps": 1e-5,
    "feat_extract_activation": "gelu",
    "conv_dim": [16, 16, 16, 16, 16, 16, 16],
    "conv_stride": [5, 2, 2, 2, 2, 2, 2],
    "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 4,
}
MODELS = {
    "wav2vec2": dict(BASE, model_type="wav2vec2", architectures=["Wav2Vec2ForPreTraining"], feat_extract_norm="layer", conv_bias=True, do_stable_layer_norm=True),
    "hubert": dict(BASE, model_type="hubert", architectures=["HubertModel"], feat_extract_norm="group", conv_bias=False, do_stable_layer_norm=False, feat_proj_layer_norm=True),
    "wavlm": dict(BASE, model_type="wavlm", architectures=["WavLMModel"], feat_extract_norm="layer", conv_bias=True, do_stable_layer_norm=True, num_buckets=16, max_bucket_distance=20),
}


def make_state(cfg, gen):
    def rnd(*shape, std=0.2):
        return torch.randn(*shape, generator=gen) * std

    sd = {}
    cin = 1
    for i, (c, k) in enumerate(zip(cfg["conv_dim"], cfg["conv_kernel"])):
        p = f"feature_extractor.conv_layers.{i}"
        sd[f"{p}.conv.weight"] = rnd(c, cin, k, std=1 / math.sqrt(cin * k))
        if cfg["conv_bias"]:
            sd[f"{p}.conv.bias"] = rnd(c, std=0.1)
        if cfg["feat_extract_norm"] == "layer" or i == 0:
            sd[f"{p}.layer_norm.weight"] = 1 + rnd(c, std=0.1)
            sd[f"{p}.layer_norm.bias"] = rnd(c, std=0.1)
        cin = c
    D, I = cfg["hidden_size"], cfg["intermediate_size"]
    K, G = cfg["num_conv_pos_embeddings"], cfg["num_conv_pos_embedding_groups"]
    sd["masked_spec_embed"] = rnd(D)
    sd["feature_projection.layer_norm.weight"] = 1 + rnd(cin, std=0.1)
    sd["feature_projection.layer_norm.bias"] = rnd(cin, std=0.1)
    sd["feature_projection.projection.weight"] = rnd(D, cin, std=1 / math.sqrt(cin))
    sd["feature_projection.projection.bias"] = rnd(D, std=0.1)
    sd["encoder.pos_conv_embed.conv.weight_g"] = 0.5 + rnd(1, 1, K, std=0.3).abs()
    sd["encoder.pos_conv_embed.conv.weight_v"] = rnd(D, D // G, K)
    sd["encoder.pos_conv_embed.conv.bias"] = rnd(D, std=0.1)
    sd["encoder.layer_norm.weight"] = 1 + rnd(D, std=0.1)
    sd["encoder.layer_norm.bias"] = rnd(D, std=0.1)
    for i in range(cfg["num_hidden_layers"]):
        l = f"encoder.layers.{i}"
        for name, (o, inp) in {
            "attention.q_proj": (D, D),
            "attention.k_proj": (D, D),
            "attention.v_proj": (D, D),
            "attention.out_proj": (D, D),
            "feed_forward.intermediate_dense": (I, D),
            "feed_forward.output_dense": (D, I),
        }.items():
            sd[f"{l}.{name}.weight"] = rnd(o, inp, std=1 / math.sqrt(inp))
            sd[f"{l}.{name}.bias"] = rnd(o, std=0.1)
        for ln in ("layer_norm", "final_layer_norm"):
            sd[f"{l}.{ln}.weight"] = 1 + rnd(D, std=0.1)
            sd[f"{l}.{ln}.bias"] = rnd(D, std=0.1)
        if "num_buckets" in cfg:
            H = cfg["num_attention_heads"]
            if i == 0:
                sd[f"{l}.attention.rel_attn_embed.weight"] = rnd(cfg["num_buckets"], H, std=1.0)
            sd[f"{l}.attention.gru_rel_pos_const"] = 1 + rnd(1, H, 1, 1, std=0.3)
            sd[f"{l}.attention.gru_rel_pos_linear.weight"] = rnd(8, D // H, std=0.5)
            sd[f"{l}.attention.gru_rel_pos_linear.bias"] = rnd(8, std=0.3)
    return sd


def relative_buckets(n, num_buckets, max_distance):
    """WavLMAttention._relative_positions_bucket for query i, key j (torch float32 log, as HF)."""
    rel = torch.arange(n)[None, :] - torch.arange(n)[:, None]
    half = num_buckets // 2
    out = (rel > 0).long() * half
    rel = rel.abs()
    max_exact = half // 2
    large = max_exact + (torch.log(rel.float() / max_exact) / math.log(max_distance / max_exact) * (half - max_exact)).long()
    large = torch.minimum(large, torch.full_like(large, half - 1))
    return out + torch.where(rel < max_exact, rel, large)


def forward(cfg, sd, wave, dtype, taps):
    g = lambda n: sd[n].to(dtype)  # noqa: E731
    eps = cfg["layer_norm_eps"]
    x = wave.to(dtype)[None, None]  # [1, 1, S]
    for i, (k, s) in enumerate(zip(cfg["conv_kernel"], cfg["conv_stride"])):
        p = f"feature_extractor.conv_layers.{i}"
        x = F.conv1d(x, g(f"{p}.conv.weight"), g(f"{p}.conv.bias") if cfg["conv_bias"] else None, stride=s)
        if cfg["feat_extract_norm"] == "layer":
            # nn.LayerNorm(out_conv_dim) with its default eps
            x = F.layer_norm(x.transpose(1, 2), (x.shape[1],), g(f"{p}.layer_norm.weight"), g(f"{p}.layer_norm.bias"), 1e-5).transpose(1, 2)
        elif i == 0:
            x = F.group_norm(x, x.shape[1], g(f"{p}.layer_norm.weight"), g(f"{p}.layer_norm.bias"), 1e-5)
        x = F.gelu(x)
        taps[f"conv_{i}"] = x.transpose(1, 2)
    feats = x.transpose(1, 2)  # [1, T, C]
    taps["extract_features"] = feats
    C = feats.shape[-1]
    if cfg.get("feat_proj_layer_norm", True):
        feats = F.layer_norm(feats, (C,), g("feature_projection.layer_norm.weight"), g("feature_projection.layer_norm.bias"), eps)
    h = F.linear(feats, g("feature_projection.projection.weight"), g("feature_projection.projection.bias"))
    taps["feature_projection"] = h
    D = cfg["hidden_size"]
    K, G = cfg["num_conv_pos_embeddings"], cfg["num_conv_pos_embedding_groups"]
    v = g("encoder.pos_conv_embed.conv.weight_v")
    w = g("encoder.pos_conv_embed.conv.weight_g") * v / v.norm(dim=(0, 1), keepdim=True)  # weight_norm(dim=2)
    pos = F.conv1d(h.transpose(1, 2), w, g("encoder.pos_conv_embed.conv.bias"), padding=K // 2, groups=G)
    if K % 2 == 0:
        pos = pos[:, :, :-1]
    h = h + F.gelu(pos).transpose(1, 2)
    stable = cfg["do_stable_layer_norm"]
    if not stable:
        h = F.layer_norm(h, (D,), g("encoder.layer_norm.weight"), g("encoder.layer_norm.bias"), eps)
    taps["encoder_input"] = h
    H = cfg["num_attention_heads"]
    hd = D // H
    T = h.shape[1]
    if "num_buckets" in cfg:
        bucket = relative_buckets(T, cfg["num_buckets"], cfg["max_bucket_distance"])
        position_bias = g("encoder.layers.0.attention.rel_attn_embed.weight")[bucket].permute(2, 0, 1)  # [H, T, T]
        taps["rel_bucket"] = bucket[None]
    for i in range(cfg["num_hidden_layers"]):
        l = f"encoder.layers.{i}"
        ln = lambda t, n: F.layer_norm(t, (D,), g(f"{l}.{n}.weight"), g(f"{l}.{n}.bias"), eps)  # noqa: E731
        lin = lambda t, n: F.linear(t, g(f"{l}.{n}.weight"), g(f"{l}.{n}.bias"))  # noqa: E731

        def attention(t):
            q = (lin(t, "attention.q_proj") * hd**-0.5).view(1, -1, H, hd).transpose(1, 2)
            k = lin(t, "attention.k_proj").view(1, -1, H, hd).transpose(1, 2)
            vv = lin(t, "attention.v_proj").view(1, -1, H, hd).transpose(1, 2)
            scores = torch.matmul(q, k.transpose(-1, -2))
            if "num_buckets" in cfg:
                # gate from the attention input split into heads (not from q_proj)
                proj = F.linear(t.view(1, T, H, hd).permute(0, 2, 1, 3), g(f"{l}.attention.gru_rel_pos_linear.weight"), g(f"{l}.attention.gru_rel_pos_linear.bias"))
                gate_a, gate_b = torch.sigmoid(proj.view(1, H, T, 2, 4).sum(-1)).chunk(2, dim=-1)
                gate = gate_a * (gate_b * g(f"{l}.attention.gru_rel_pos_const") - 1.0) + 2.0
                scores = scores + gate * position_bias
            ctx = torch.matmul(scores.softmax(-1), vv).transpose(1, 2).reshape(1, -1, D)
            return lin(ctx, "attention.out_proj")

        ff = lambda t: lin(F.gelu(lin(t, "feed_forward.intermediate_dense")), "feed_forward.output_dense")  # noqa: E731
        if stable:
            a = attention(ln(h, "layer_norm"))
            h = h + a
            h = h + ff(ln(h, "final_layer_norm"))
        else:
            a = attention(h)
            h = ln(h + a, "layer_norm")
            h = ln(h + ff(h), "final_layer_norm")
        if i == 0:
            taps["layer0_attention"] = a
        taps[f"layer_{i}"] = h
    if stable:
        h = F.layer_norm(h, (D,), g("encoder.layer_norm.weight"), g("encoder.layer_norm.bias"), eps)
    taps["final"] = h
    return h


SAVED = ["conv_4", "conv_6", "extract_features", "feature_projection", "encoder_input", "layer0_attention", "layer_0", "layer_1", "final"]

for name, cfg in MODELS.items():
    out = os.path.join(HERE, name)
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed({"wav2vec2": 1, "hubert": 2, "wavlm": 3}[name])
    sd = make_state(cfg, gen)
    clips = {"clip_a": torch.randn(4000, generator=gen) * 0.3, "clip_b": torch.randn(2900, generator=gen) * 0.3}
    with torch.no_grad():
        for clip, wave in clips.items():
            np.save(os.path.join(out, f"{clip}.wave.npy"), wave.numpy())
            taps = {}
            forward(cfg, sd, wave, torch.float32, taps)
            for k in SAVED:
                np.save(os.path.join(out, f"{clip}.{k}.npy"), np.ascontiguousarray(taps[k][0].numpy()))
            np.save(os.path.join(out, f"{clip}.final_f64.npy"), np.ascontiguousarray(forward(cfg, sd, wave, torch.float64, {})[0].numpy()))
    if name == "wav2vec2":
        # Wav2Vec2ForPreTraining: the model under `wav2vec2.`, pre-training heads beside it
        sd = {f"wav2vec2.{k}": v for k, v in sd.items()}
        sd["project_hid.weight"] = torch.randn(8, 32, generator=gen)
    torch.save(sd, os.path.join(out, "pytorch_model.bin"))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    print("wrote", out)
