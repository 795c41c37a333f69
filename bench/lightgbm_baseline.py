"""LightGBM lambdarank on the data bench/ltr-quality.ts wrote, one thread.

Benchmark baseline only (PyPI, installed into .cache/bench-venv by `make bench-venv`); never a
runtime dependency. Usage: lightgbm_baseline.py DIR PARAMS_JSON ROUNDS. Reads DIR/train.csv and
DIR/test.csv (columns: query, label, f0..fN; rows grouped by query; 'nan' is missing), trains
with lightgbm's own defaults overlaid by PARAMS_JSON (objective lambdarank, num_threads 1 and
deterministic are always set), and prints JSON: the training seconds (Dataset construction,
i.e. binning, included, as on the TypeScript side), the test-set predictions and the version.
Scoring happens in TypeScript, with the same code for both learners.
"""
import json
import sys
import time

import lightgbm as lgb
import numpy as np


def load(path):
    data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    queries, labels, x = data[:, 0].astype(np.int64), data[:, 1], data[:, 2:]
    # Rows are grouped by query, in order of first appearance: group sizes are run lengths.
    starts = np.flatnonzero(np.r_[True, queries[1:] != queries[:-1]])
    groups = np.diff(np.r_[starts, len(queries)])
    return np.ascontiguousarray(x), labels, groups


def main():
    directory, overrides, rounds = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
    x, y, groups = load(f"{directory}/train.csv")
    xt, _, _ = load(f"{directory}/test.csv")
    params = dict(overrides, objective="lambdarank", num_threads=1, deterministic=True, verbose=-1)
    started = time.perf_counter()
    dataset = lgb.Dataset(x, label=y, group=groups, params={k: v for k, v in params.items() if k in ("max_bin", "min_data_in_bin")})
    model = lgb.train(params, dataset, num_boost_round=rounds)
    seconds = time.perf_counter() - started
    print(json.dumps({"train_seconds": seconds, "predictions": model.predict(xt, num_threads=1).tolist(), "version": lgb.__version__}))


if __name__ == "__main__":
    main()
