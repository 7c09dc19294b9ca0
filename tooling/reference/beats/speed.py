"""Time the official BEATs (microsoft/unilm beats/) in PyTorch eager on CPU: the bar for our TF.js backbone.

Full-size iter3 architecture with the official random init (seeded), normalised fbank [B, 998, 128]
(ten 10 s clips' worth of frames each) -> tokens [B, 496, 768], exactly what
@anopatch/vit-backbone's BeatsBackbone.forward computes. torch.set_num_threads(--threads).

Usage (Debian python3-torch):
  /usr/bin/python3 tooling/reference/beats/speed.py --beats-dir <folder with BEATs.py, backbone.py,
      modules.py> [--threads 2] [--batches 1,8] [--iterations 3] [--out timings.json]

Prints one JSON object (also written to --out): per batch size the seconds of each timed run, the
median, clips/s, and the peak RSS of this process. The official code is read from --beats-dir and
not committed here.
"""

import argparse
import json
import platform
import resource
import statistics
import sys
import time

import torch

# The published BEATs_iter3 cfg (dropouts are inactive in eval mode, so their values do not matter here).
ITER3_CFG = {
    "input_patch_size": 16, "embed_dim": 512, "conv_bias": False, "encoder_layers": 12,
    "encoder_embed_dim": 768, "encoder_ffn_embed_dim": 3072, "encoder_attention_heads": 12,
    "activation_fn": "gelu", "layer_wise_gradient_decay_ratio": 0.6, "layer_norm_first": False,
    "deep_norm": True, "dropout": 0.0, "attention_dropout": 0.0, "activation_dropout": 0.0,
    "encoder_layerdrop": 0.05, "dropout_input": 0.0, "conv_pos": 128, "conv_pos_groups": 16,
    "relative_position_embedding": True, "num_buckets": 320, "max_distance": 800,
    "gru_rel_pos": True, "finetuned_model": False,
}
FRAMES_10S = 998


def tokens_from_fbank(model, fbank):
    """BEATs.extract_features after preprocess: the part our TF.js backbone implements."""
    x = model.patch_embedding(fbank.unsqueeze(1))
    x = x.reshape(x.shape[0], x.shape[1], -1).transpose(1, 2)
    x = model.layer_norm(x)
    if model.post_extract_proj is not None:
        x = model.post_extract_proj(x)
    x, _ = model.encoder(x, padding_mask=None)
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--beats-dir", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--frames", type=int, default=FRAMES_10S)
    ap.add_argument("--out")
    args = ap.parse_args()

    sys.path.insert(0, args.beats_dir)
    from BEATs import BEATs, BEATsConfig  # noqa: E402  (official code, read from --beats-dir)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = BEATs(BEATsConfig(ITER3_CFG)).eval()
    params = sum(p.numel() for p in model.parameters())
    rows = []
    with torch.inference_mode():
        for batch in [int(b) for b in args.batches.split(",")]:
            x = torch.randn(batch, args.frames, 128, generator=torch.Generator().manual_seed(batch))
            for _ in range(args.warmup):
                tokens_from_fbank(model, x)
            secs = []
            cpu = []
            for _ in range(args.iterations):
                t0 = time.perf_counter()
                c0 = time.process_time()
                y = tokens_from_fbank(model, x)
                secs.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            med = statistics.median(secs)
            rows.append({"batch": batch, "seconds_per_run": secs, "median_seconds": med,
                         "clips_per_second": batch / med, "output_shape": list(y.shape),
                         # CPU seconds per clip (all threads): comparable on a machine shared with other work
                         "cpu_seconds_per_clip": statistics.median(cpu) / batch})
            print(f"batch {batch}: {secs} -> {batch / med:.3f} clips/s", file=sys.stderr)
    out = {
        "what": f"official BEATs iter3 (random init, seed 0), fbank [B, {args.frames}, 128] -> tokens, PyTorch eager CPU",
        "torch": torch.__version__, "python": platform.python_version(), "machine": platform.machine(),
        "threads": torch.get_num_threads(), "parameters": params, "frames": args.frames,
        "rows": rows, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
