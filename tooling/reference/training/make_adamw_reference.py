"""AdamW + LR-schedule reference for @anopatch/anopatch (packages/anopatch/src/optim).

Runs torch.optim.AdamW (PyTorch semantics: decoupled weight decay, bias correction) on a tiny
case with fixed gradient sequences, under a linear-warmup schedule followed by cosine or linear
decay (LambdaLR, stepped after each optimizer step, as transformers' get_*_schedule_with_warmup),
and writes every parameter after every step to adamw_reference.json.

Run: /usr/bin/python3 make_adamw_reference.py   (Debian python3-torch; output is committed)
"""
import json
import math

import torch

torch.manual_seed(0)
STEPS = 7
WARMUP = 3
TOTAL = 7
SHAPES = {"a": [3, 4], "b": [5]}


def lam(kind):
    def f(step):
        if step < WARMUP:
            return step / max(1, WARMUP)
        progress = (step - WARMUP) / max(1, TOTAL - WARMUP)
        if kind == "cosine":
            return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))
        if kind == "linear":
            return max(0.0, 1.0 - progress)
        return 1.0
    return f


init = {k: torch.randn(*s) for k, s in SHAPES.items()}
# gradients with mixed magnitudes and a zero entry (v = 0 path) per step
grads = []
for t in range(STEPS):
    g = {k: torch.randn(*s) * (10.0 ** (t % 3 - 1)) for k, s in SHAPES.items()}
    g["b"][0] = 0.0
    grads.append(g)

cases = []
for name, hp, kind in [
    ("default_cosine", dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01), "cosine"),
    ("strong_decay_linear", dict(lr=5e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.3), "linear"),
    ("constant", dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0), "constant"),
]:
    params = {k: torch.nn.Parameter(v.clone()) for k, v in init.items()}
    opt = torch.optim.AdamW(list(params.values()), **hp)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lam(kind))
    lrs, traj = [], []
    for t in range(STEPS):
        lrs.append(opt.param_groups[0]["lr"])
        for k, p in params.items():
            p.grad = grads[t][k].clone()
        opt.step()
        sched.step()
        traj.append({k: p.detach().reshape(-1).tolist() for k, p in params.items()})
    state = {k: {"exp_avg": opt.state[p]["exp_avg"].reshape(-1).tolist(), "exp_avg_sq": opt.state[p]["exp_avg_sq"].reshape(-1).tolist()} for k, p in params.items()}
    cases.append({
        "name": name,
        "lr": hp["lr"], "beta1": hp["betas"][0], "beta2": hp["betas"][1], "eps": hp["eps"], "weight_decay": hp["weight_decay"],
        "schedule": kind, "warmup": WARMUP, "total": TOTAL,
        "lrs": lrs, "params_after_step": traj, "final_state": state,
    })

out = {
    "description": "torch.optim.AdamW (float32) with LambdaLR warmup+decay; lrs[t] is the lr used by step t (0-based); params_after_step[t] after step t.",
    "torch": torch.__version__,
    "shapes": SHAPES,
    "init": {k: v.reshape(-1).tolist() for k, v in init.items()},
    "grads": [{k: v.reshape(-1).tolist() for k, v in g.items()} for g in grads],
    "cases": cases,
}
with open("adamw_reference.json", "w") as f:
    json.dump(out, f)
print("wrote adamw_reference.json")
