"""Sub-cluster AdaCos reference for @anopatch/arcface (src/adacos.ts).

Sub-cluster AdaCos (Wilkinghoff, IJCNN 2021), K sub-clusters per class, fixed centres W [D, C*K]:
  cos = <x/|x|, W/|W|>; theta = acos(clamp(cos, -1+1e-7, 1-1e-7))
  training, before the logits (no gradient):
    B_avg = mean_i sum_{j not a sub-cluster of y_i} exp(s * cos_ij)
    theta_med = median_i (mean over the K sub-clusters of y_i of theta_ij)   (torch.median: lower middle)
    s <- log(B_avg) / cos(min(pi/4, theta_med))
  p = softmax(s * cos) summed over each class's K sub-clusters; loss = mean_i -log p_i[y_i]
K = 1 is AdaCos (Zhang et al. 2019) with fixed centres. s starts at sqrt(2) * log(C*K - 1).
Writes adacos_reference.json (float64): inputs, s before/after two training steps, loss and
d loss / d embeddings of each step (W fixed), and inference logits.

Run: /usr/bin/python3 make_adacos_reference.py
"""
import json
import math

import torch

torch.manual_seed(5)
torch.set_default_dtype(torch.float64)
N, D, C = 7, 12, 4
cases = []
for K in (1, 3):
    W = torch.randn(D, C * K)
    labels = torch.randint(0, C, (N,))
    xs = [torch.randn(N, D), torch.randn(N, D)]
    s = math.sqrt(2) * math.log(C * K - 1)
    s_init = s
    steps = []
    for x in xs:
        x = x.clone().requires_grad_(True)
        cos = torch.nn.functional.normalize(x, dim=1) @ torch.nn.functional.normalize(W, dim=0)
        onehot = torch.nn.functional.one_hot(labels, C).repeat_interleave(K, dim=1).to(torch.float64)
        with torch.no_grad():
            theta = torch.acos(torch.clamp(cos, -1 + 1e-7, 1 - 1e-7))
            b_avg = torch.where(onehot < 1, torch.exp(s * cos), torch.zeros_like(cos)).sum(1).mean()
            theta_class = (onehot * theta).sum(1) / K
            theta_med = torch.median(theta_class)
            s = float(torch.log(b_avg) / torch.cos(torch.clamp(theta_med, max=math.pi / 4)))
        p = torch.softmax(s * cos, dim=1).reshape(N, C, K).sum(2)
        loss = -torch.log(p[torch.arange(N), labels]).mean()
        loss.backward()
        steps.append({"x": x.detach().tolist(), "s_after": s, "loss": float(loss), "grad_x": x.grad.tolist()})
    cases.append({"K": K, "W": W.tolist(), "labels": labels.tolist(), "s_init": s_init, "steps": steps})
json.dump({"description": __doc__.strip().splitlines()[0], "N": N, "D": D, "C": C, "cases": cases}, open("adacos_reference.json", "w"))
print("wrote adacos_reference.json")
