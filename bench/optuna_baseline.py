"""Optuna's TPESampler (defaults of the installed version) as the baseline of bench/hpo-quality.ts.

Reads one JSON job from stdin and prints one JSON result on stdout:
  {"quality": [{"function", "dimension", "budget", "seeds": [...]}],
   "latency": [{"dimension", "history", "repeats"}], "workers": 2}
Quality: the best value found in `budget` evaluations per seed. Latency: ask() with every
parameter sampled (ask(fixed_distributions)) on a study pre-filled with `history` completed
random trials, timed per call. The functions are the same definitions as bench/hpo-functions.ts.
"""
import json
import math
import sys
import time
from multiprocessing import Pool

import numpy as np
import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

optuna.logging.set_verbosity(optuna.logging.WARNING)


def sphere(x):
    return float(np.sum(x * x))


def rosenbrock(x):
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))


def rastrigin(x):
    return float(10.0 * len(x) + np.sum(x * x - 10.0 * np.cos(2.0 * math.pi * x)))


def ackley(x):
    d = len(x)
    return float(-20.0 * math.exp(-0.2 * math.sqrt(np.sum(x * x) / d)) - math.exp(np.sum(np.cos(2.0 * math.pi * x)) / d) + 20.0 + math.e)


def branin(x):
    b = 5.1 / (4.0 * math.pi ** 2)
    c = 5.0 / math.pi
    return float((x[1] - b * x[0] ** 2 + c * x[0] - 6.0) ** 2 + 10.0 * (1.0 - 1.0 / (8.0 * math.pi)) * math.cos(x[0]) + 10.0)


H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
H6_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
H6_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991], [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])


def hartmann6(x):
    return float(-np.sum(H6_ALPHA * np.exp(-np.sum(H6_A * (x - H6_P) ** 2, axis=1))))


FUNCTIONS = {
    "sphere": (sphere, lambda d: [(-5.12, 5.12)] * d),
    "rosenbrock": (rosenbrock, lambda d: [(-2.048, 2.048)] * d),
    "rastrigin": (rastrigin, lambda d: [(-5.12, 5.12)] * d),
    "ackley": (ackley, lambda d: [(-32.768, 32.768)] * d),
    "branin": (branin, lambda d: [(-5.0, 10.0), (0.0, 15.0)]),
    "hartmann6": (hartmann6, lambda d: [(0.0, 1.0)] * 6),
}


def run_quality(task):
    name, dimension, budget, seed = task
    fn, bounds_of = FUNCTIONS[name]
    bounds = bounds_of(dimension)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed), direction="minimize")

    def objective(trial):
        x = np.array([trial.suggest_float(f"x{i}", lo, hi) for i, (lo, hi) in enumerate(bounds)])
        return fn(x)

    started = time.perf_counter()
    study.optimize(objective, n_trials=budget)
    return {"function": name, "dimension": dimension, "budget": budget, "seed": seed, "best": study.best_value, "seconds": time.perf_counter() - started}


def run_latency(task):
    dimension, history, repeats = task
    rng = np.random.default_rng(dimension * 1000 + history)
    distributions = {f"x{i}": FloatDistribution(0.0, 1.0) for i in range(dimension)}
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=1), direction="minimize")
    study.add_trials(
        [create_trial(params={k: float(v) for k, v in zip(distributions, rng.random(dimension))}, distributions=distributions, value=float(rng.random())) for _ in range(history)]
    )
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        trial = study.ask(distributions)
        times.append((time.perf_counter() - started) * 1e6)
        study.tell(trial, state=TrialState.FAIL)  # failed trials leave the TPE model unchanged
    times.sort()
    return {"dimension": dimension, "history": history, "repeats": repeats, "p50_us": times[len(times) // 2], "p99_us": times[min(len(times) - 1, int(0.99 * len(times)))]}


def main():
    job = json.load(sys.stdin)
    quality_tasks = [(q["function"], q["dimension"], q["budget"], s) for q in job.get("quality", []) for s in q["seeds"]]
    with Pool(job.get("workers", 2)) as pool:
        quality = pool.map(run_quality, quality_tasks, chunksize=1)
    latency = [run_latency((l["dimension"], l["history"], l["repeats"])) for l in job.get("latency", [])]
    json.dump({"optuna_version": optuna.__version__, "quality": quality, "latency": latency}, sys.stdout)


if __name__ == "__main__":
    main()
