"""LightGBM lambdarank on the same data, same trees, leaves, learning rate and bins.

Benchmark baseline only (PyPI, installed into .cache/bench-venv by `make bench`); never a
runtime dependency. Reads train.csv / test.csv written by bench/ltr-quality.ts (columns:
query, label, f0..fN), prints JSON: training seconds and test-set predictions.
"""
import json
import sys
import time

import lightgbm as lgb
import numpy as np


def load(path):
    data = np.genfromtxt(path, delimiter=",", skip_header=1)
    queries, labels, x = data[:, 0].astype(int), data[:, 1].astype(int), data[:, 2:]
    _, counts = np.unique(queries, return_counts=True)
    # Rows are written grouped by query, in order of first appearance.
    order = np.unique(queries, return_index=True)[1]
    groups = counts[np.argsort(order)]
    return x, labels, groups


def main():
    directory, trees, leaves, lr, bins, min_leaf = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    x, y, groups = load(f"{directory}/train.csv")
    xt, _, _ = load(f"{directory}/test.csv")
    params = dict(objective="lambdarank", num_leaves=leaves, learning_rate=lr, max_bin=bins, min_data_in_leaf=min_leaf,
                  min_sum_hessian_in_leaf=0, lambda_l2=1.0, deterministic=True, num_threads=1, verbose=-1)
    started = time.perf_counter()
    dataset = lgb.Dataset(x, label=y, group=groups, params={"max_bin": bins})
    model = lgb.train(params, dataset, num_boost_round=trees)
    seconds = time.perf_counter() - started
    print(json.dumps({"train_seconds": seconds, "predictions": model.predict(xt).tolist(), "version": lgb.__version__}))


if __name__ == "__main__":
    main()
