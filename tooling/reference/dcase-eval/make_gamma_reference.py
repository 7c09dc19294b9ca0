"""Reference for @anopatch/dcase-eval's gamma decision threshold.

Run with Debian's python3-scipy (1.10.1): /usr/bin/python3 make_gamma_reference.py
Writes gamma.json: for several score sets, scipy.stats.gamma.fit(y) (MLE, free loc, as the DCASE
baselines call it) and scipy.stats.gamma.ppf(0.9, *params), plus special-function spot values.
"""
import json
import numpy as np
import scipy
import scipy.special as sc
import scipy.stats

rng = np.random.default_rng(20240901)
cases = []
def add(name, y):
    y = [float(v) for v in y]
    a, loc, scale = scipy.stats.gamma.fit(y)
    cases.append({
        "name": name,
        "scores": y,
        "shape": float(a), "loc": float(loc), "scale": float(scale),
        "ppf_0.9": float(scipy.stats.gamma.ppf(0.9, a, loc=loc, scale=scale)),
    })

# cosine distances of a KNN detector: small positive, right-skewed
add("knn_distances", np.round(rng.gamma(2.0, 0.02, size=200) + 0.01, 6))
# autoencoder MSE-like scores
add("ae_mse", np.round(rng.gamma(5.0, 3.0, size=120) + 10.0, 5))
# nearly symmetric scores (skew ~ 0: huge start shape)
add("symmetric", np.round(rng.normal(0.5, 0.05, size=150), 6))
# few scores
add("small", [0.12, 0.15, 0.11, 0.3, 0.22, 0.19, 0.14, 0.17])

special = []
for a in [0.3, 1.0, 2.5, 17.0, 250.0, 4.0e4]:
    special.append({
        "a": a,
        "gammaln": float(sc.gammaln(a)),
        "gammainc": [[x, float(sc.gammainc(a, x))] for x in [0.1 * a, 0.9 * a, a, 1.3 * a + 1]],
        "gammaincinv": [[q, float(sc.gammaincinv(a, q))] for q in [0.01, 0.5, 0.9, 0.999]],
    })

out = {
    "description": "scipy.stats.gamma.fit(y) (MLE, shape/loc/scale all free: rv_continuous.fit -> optimize.fmin) and gamma.ppf(0.9, ...), the DCASE baseline decision threshold",
    "scipy_version": scipy.__version__,
    "numpy_version": np.__version__,
    "cases": cases,
    "special": special,
}
with open("gamma.json", "w") as f:
    json.dump(out, f, indent=1)
print("wrote gamma.json", [(c["name"], c["shape"], c["loc"], c["scale"], c["ppf_0.9"]) for c in cases])
