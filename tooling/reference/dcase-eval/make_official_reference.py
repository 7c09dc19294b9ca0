"""Expected outputs of the OFFICIAL DCASE evaluators on small synthetic submissions.

Usage (Debian python3-sklearn 1.2.1 / python3-scipy 1.10.1 / python3-pandas / python3-matplotlib):
    /usr/bin/python3 make_official_reference.py <dcase2023_task2_evaluator checkout> <dcase2020_task2_evaluator checkout>

The evaluators are run from a temporary copy (they are not part of this repository); in that copy the
2023 evaluator's plotting helper tools/test_plots.py is replaced by a no-op (it needs librosa and only
draws figures). What is
committed here: the synthetic ground truth and submissions we generate (official2023/, official2020/)
and the evaluators' outputs, both the raw result CSVs and expected.json parsed from them.
"""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ev2023, ev2020 = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(7)


def write_csv(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


# ---------------------------------------------------------------- 2023
out23 = os.path.join(HERE, "official2023")
shutil.rmtree(out23, ignore_errors=True)
machines = {"ToyDrone": "car_{}_spd_{}_mic_1", "bandsaw": "vel_{}", "grinder": "grindstone_{}_plate_{}"}
truth = {}
for m, attr_fmt in machines.items():
    n = 40
    domain = rng.integers(0, 2, size=n)
    label = rng.integers(0, 2, size=n)
    # both classes in both domains
    domain[:4] = [0, 0, 1, 1]
    label[:4] = [0, 1, 0, 1]
    names = [f"section_00_{i:04d}.wav" for i in range(n)]
    attrs = []
    for i in range(n):
        d = "target" if domain[i] else "source"
        lab = "anomaly" if label[i] else "normal"
        a = attr_fmt.format(*(int(v) for v in rng.integers(1, 4, size=attr_fmt.count("{}"))))
        attrs.append(f"section_00_{d}_test_{lab}_{i:04d}_{a}")
    write_csv(f"{out23}/ground_truth_data/ground_truth_{m}_section_00_test.csv", [[names[i], int(label[i])] for i in range(n)])
    write_csv(f"{out23}/ground_truth_domain/ground_truth_{m}_section_00_test.csv", [[names[i], int(domain[i])] for i in range(n)])
    write_csv(f"{out23}/ground_truth_attributes/ground_truth_{m}_section_00_test.csv", [[names[i], attrs[i]] for i in range(n)])
    truth[m] = (names, attrs, label, domain)


def submission(system, naming, quantise, attr_rows_for, float_decisions_for):
    for m, (names, attrs, label, domain) in truth.items():
        n = len(names)
        s = rng.normal(0, 1, size=n) + 0.9 * label + 0.3 * domain
        if quantise:
            s = np.round(s * 4) / 4  # ties across classes
        thr = 0.6
        dec = (s > thr).astype(int)
        rows_s, rows_d = [], []
        order = rng.permutation(n)
        for i in order:
            name = attrs[i] + ".wav" if m in attr_rows_for else names[i]
            rows_s.append([name, float(s[i])])
            rows_d.append([name, f"{float(dec[i]):.1f}" if m in float_decisions_for else int(dec[i])])
        if naming == "plain":
            fs = f"anomaly_score_{m}_section_00_test.csv"
            fd = f"decision_result_{m}_section_00_test.csv"
        else:
            fs = f"anomaly_score_DCASE2023T2{m}_section_00_test_seed13711_id(0_)_Eval.csv"
            fd = f"decision_result_DCASE2023T2{m}_section_00_test_seed13711_id(0_)_Eval.csv"
        write_csv(f"{out23}/teams/team/{system}/{fs}", rows_s)
        write_csv(f"{out23}/teams/team/{system}/{fd}", rows_d)


submission("plain_system", "plain", quantise=False, attr_rows_for={"bandsaw"}, float_decisions_for={"grinder"})
submission("baseline_names", "baseline", quantise=True, attr_rows_for={"ToyDrone"}, float_decisions_for=set())

expected23 = {}
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run(["git", f"--git-dir={ev2023}/.git" if os.path.isdir(f"{ev2023}/.git") else f"--git-dir={ev2023}",
                    "archive", "-o", f"{tmp}/ev.tar", "HEAD"], check=True)
    subprocess.run(["tar", "-xf", f"{tmp}/ev.tar", "-C", tmp], check=True)
    # tools/test_plots.py only draws box plots (and needs librosa); the numbers never pass through it,
    # so the temporary copy gets a no-op stand-in
    with open(f"{tmp}/tools/test_plots.py", "w") as f:
        f.write("class Figdata:\n    def __init__(self, **kw):\n        pass\n\n\ndef show_figs(*a, **k):\n    pass\n")
    for d in ["ground_truth_data", "ground_truth_domain", "ground_truth_attributes"]:
        shutil.rmtree(f"{tmp}/{d}")
        shutil.copytree(f"{out23}/{d}", f"{tmp}/{d}")
    shutil.copytree(f"{out23}/teams", f"{tmp}/teams_in")
    subprocess.run([sys.executable, "dcase2023_task2_evaluator.py", "--teams_root_dir=./teams_in", "--result_dir=./teams_result",
                    "--dir_depth=2"], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
    for system in ["plain_system", "baseline_names"]:
        src = f"{tmp}/teams_result/{system}_result.csv"
        shutil.copy(src, f"{out23}/{system}_result.csv")
        with open(src) as f:
            rows = list(csv.reader(f))
        per_machine = {}
        cur = None
        for r in rows:
            if len(r) == 1 and r[0] in machines:
                cur = r[0]
            elif cur and len(r) == 11 and r[0] == "00":
                keys = ["auc_all", "auc_source", "auc_target", "pauc", "precision_source", "precision_target",
                        "recall_source", "recall_target", "f1_source", "f1_target"]
                per_machine[cur] = dict(zip(keys, (float(v) for v in r[1:])))
            elif cur and len(r) == 7 and r[0] in ("arithmetic mean", "harmonic mean", "source harmonic mean", "target harmonic mean"):
                per_machine[cur][r[0].replace(" ", "_")] = dict(zip(["auc", "pauc", "precision", "recall", "f1"], (float(v) for v in r[2:])))
        overall = {}
        for r in rows:
            if r and r[0].endswith("over all machine types, sections, and domains"):
                overall[r[0]] = dict(zip(["auc", "pauc", "precision", "recall", "f1"], (float(v) for v in r[2:])))
            if r and r[0] in ("official score", "official score ci95"):
                overall[r[0]] = float(r[2])
        expected23[system] = {"machines": per_machine, "overall": overall}

# ---------------------------------------------------------------- 2020
out20 = os.path.join(HERE, "official2020")
shutil.rmtree(out20, ignore_errors=True)
ids20 = {"fan": ["01", "03"], "ToyCar": ["05"]}
gt_rows = []
team_rows = {}
for m, ids in ids20.items():
    gt_rows.append([m])
    for mid in ids:
        n = 30
        label = rng.integers(0, 2, size=n)
        label[:2] = [0, 1]
        names = [f"id_{mid}_{i:08d}.wav" for i in range(n)]
        for i in range(n):
            gt_rows.append([names[i], f"{'anomaly' if label[i] else 'normal'}_id_{mid}_{i:08d}.wav", int(label[i])])
        s = np.round(rng.normal(0, 1, size=n) + 1.0 * label, 2)
        order = rng.permutation(n)
        team_rows[f"anomaly_score_{m}_id_{mid}.csv"] = [[names[i], float(s[i])] for i in order]
write_csv(f"{out20}/eval_data_list.csv", gt_rows)
for fname, rows in team_rows.items():
    write_csv(f"{out20}/teams/system2020/{fname}", rows)

expected20 = {}
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run(["git", f"--git-dir={ev2020}/.git" if os.path.isdir(f"{ev2020}/.git") else f"--git-dir={ev2020}",
                    "archive", "-o", f"{tmp}/ev.tar", "HEAD"], check=True)
    subprocess.run(["tar", "-xf", f"{tmp}/ev.tar", "-C", tmp], check=True)
    shutil.copy(f"{out20}/eval_data_list.csv", f"{tmp}/eval_data_list.csv")
    shutil.copytree(f"{out20}/teams", f"{tmp}/teams")
    subprocess.run([sys.executable, "evaluator.py"], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
    shutil.copy(f"{tmp}/teams/result_system2020.csv", f"{out20}/result_system2020.csv")
    with open(f"{tmp}/teams/result_system2020.csv") as f:
        rows = list(csv.reader(f))
    cur = None
    res = {}
    for r in rows:
        if len(r) == 1 and r[0] in ids20:
            cur = r[0]
            res[cur] = {"ids": {}}
        elif cur and len(r) == 3 and r[0] not in ("id", "Average"):
            res[cur]["ids"][r[0]] = {"auc": float(r[1]), "pauc": float(r[2])}
        elif cur and len(r) == 3 and r[0] == "Average":
            res[cur]["average"] = {"auc": float(r[1]), "pauc": float(r[2])}
    expected20["system2020"] = res

with open(os.path.join(HERE, "official_expected.json"), "w") as f:
    json.dump({
        "description": "outputs of nttcslab/dcase2023_task2_evaluator (commit 3aa8a9f) and y-kawagu/dcase2020_task2_evaluator (commit 3e5464f) on the synthetic submissions in official2023/ and official2020/",
        "dcase2023": expected23,
        "dcase2020": expected20,
    }, f, indent=1)
print(json.dumps(expected23["plain_system"]["overall"], indent=1))
print(json.dumps(expected20, indent=1)[:600])
