"""Export the official BEATs (microsoft/unilm beats/) to ONNX with torch.onnx and time PyTorch CPU.

Speed reference for issue #11 (packages/onnx-engine): a full-size BEATs (iter3 config) with the
official random init, seeded, exported as the backbone from normalised fbank [B, T, 128] to tokens
[B, P, 768] (dynamic batch and time axes, opset 17), and the same module timed in PyTorch eager.
The weights are saved as .npy per state-dict key so our own ONNX lowering can be built from
exactly the same model and both graphs compared on the same input.

Usage (Debian python3-torch, python3-torchaudio):
  /usr/bin/python3 tooling/reference/onnx/export_official_beats.py --beats-dir /tmp/unilm_beats \
      --out-dir /tmp/beats_official --timings tooling/reference/onnx/timings.json

--beats-dir is a folder holding the official BEATs.py, backbone.py and modules.py (not committed
here). Outputs in --out-dir: beats_official.onnx, params/<key>.npy + params/names.json,
input_10s.npy (fbank [1, 998, 128]) and tokens_10s.npy (PyTorch output on it).
"""

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import torch

ITER3_CFG = {
    "input_patch_size": 16,
    "embed_dim": 512,
    "conv_bias": False,
    "encoder_layers": 12,
    "encoder_embed_dim": 768,
    "encoder_ffn_embed_dim": 3072,
    "encoder_attention_heads": 12,
    "activation_fn": "gelu",
    "layer_wise_gradient_decay_ratio": 1.0,
    "layer_norm_first": False,
    "deep_norm": True,
    "dropout": 0.0,
    "attention_dropout": 0.0,
    "activation_dropout": 0.0,
    "encoder_layerdrop": 0.0,
    "dropout_input": 0.0,
    "conv_pos": 128,
    "conv_pos_groups": 16,
    "relative_position_embedding": True,
    "num_buckets": 320,
    "max_distance": 800,
    "gru_rel_pos": True,
    "finetuned_model": False,
    "predictor_dropout": 0.0,
    "predictor_class": 527,
}

# 10 s at 16 kHz with Kaldi framing (25 ms window, 10 ms shift, snip_edges): 1 + (160000 - 400) // 160
FRAMES_10S = 998


class FbankToTokens(torch.nn.Module):
    """BEATs.extract_features after preprocess(): the part every engine runs on the same fbank."""

    def __init__(self, beats):
        super().__init__()
        self.beats = beats

    def forward(self, fbank):
        m = self.beats
        x = m.patch_embedding(fbank.unsqueeze(1))
        x = x.reshape(x.shape[0], x.shape[1], -1).transpose(1, 2)
        x = m.layer_norm(x)
        if m.post_extract_proj is not None:
            x = m.post_extract_proj(x)
        x, _ = m.encoder(x, padding_mask=None)
        return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beats-dir", required=True, help="folder with the official BEATs.py/backbone.py/modules.py")
    ap.add_argument("--out-dir", default="/tmp/beats_official")
    ap.add_argument("--timings", required=True, help="JSON file to write timings to")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--time-only", action="store_true", help="only time PyTorch (no params, no export); for anopatch-bench speed")
    args = ap.parse_args()

    sys.path.insert(0, os.path.abspath(args.beats_dir))
    from BEATs import BEATs, BEATsConfig  # noqa: E402  (official code, path given at run time)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = BEATs(BEATsConfig(ITER3_CFG)).eval()
    net = FbankToTokens(model).eval()

    if args.time_only:
        g = torch.Generator().manual_seed(1)
        fbank = torch.randn(1, FRAMES_10S, 128, generator=g) * 0.5
        with torch.inference_mode():
            for _ in range(args.warmup):
                net(fbank)
            times = []
            for _ in range(args.iters):
                t0 = time.perf_counter()
                net(fbank)
                times.append(time.perf_counter() - t0)
        median = sorted(times)[len(times) // 2]
        write_json(args.timings, {"torch": torch.__version__, "threads": args.threads,
                                  "pytorch_cpu_seconds_per_clip": times, "pytorch_cpu_median_seconds": median,
                                  "pytorch_cpu_clips_per_second": 1.0 / median})
        return

    os.makedirs(os.path.join(args.out_dir, "params"), exist_ok=True)
    names = []
    for key, value in model.state_dict().items():
        np.save(os.path.join(args.out_dir, "params", key + ".npy"), value.detach().cpu().numpy().astype(np.float32))
        names.append({"name": key, "shape": list(value.shape)})
    with open(os.path.join(args.out_dir, "params", "names.json"), "w") as f:
        json.dump({"cfg": ITER3_CFG, "params": names}, f, indent=1)

    g = torch.Generator().manual_seed(1)
    fbank = torch.randn(1, FRAMES_10S, 128, generator=g) * 0.5
    np.save(os.path.join(args.out_dir, "input_10s.npy"), fbank.numpy())

    with torch.inference_mode():
        for _ in range(args.warmup):
            out = net(fbank)
        times = []
        for _ in range(args.iters):
            t0 = time.perf_counter()
            out = net(fbank)
            times.append(time.perf_counter() - t0)
    np.save(os.path.join(args.out_dir, "tokens_10s.npy"), out.numpy())

    onnx_path = os.path.join(args.out_dir, "beats_official.onnx")
    t0 = time.perf_counter()
    with torch.no_grad():
        torch.onnx.export(
            net,
            (fbank,),
            onnx_path,
            opset_version=17,
            input_names=["fbank"],
            output_names=["tokens"],
            dynamic_axes={"fbank": {0: "batch", 1: "frames"}, "tokens": {0: "batch", 1: "patches"}},
            do_constant_folding=True,
        )
    export_s = time.perf_counter() - t0

    median = sorted(times)[len(times) // 2]
    result = {
        "what": "official BEATs (iter3 cfg, random init, seed 0) fbank [1, 998, 128] (10 s clip) -> tokens [1, 496, 768]",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "threads": args.threads,
        "pytorch_cpu_seconds_per_clip": times,
        "pytorch_cpu_median_seconds": median,
        "pytorch_cpu_clips_per_second": 1.0 / median,
        "onnx_export": {"opset": 17, "dynamic_axes": ["batch", "frames"], "export_seconds": export_s,
                        "bytes": os.path.getsize(onnx_path)},
    }
    write_json(args.timings, result)
    print(json.dumps(result, indent=1))


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
