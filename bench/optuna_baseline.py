"""Optuna's TPESampler (defaults of the installed version) as the baseline of bench/hpo-quality.ts.

Reads one JSON job from stdin and prints one JSON result on stdout:
  {"quality": [{"problem", "params": [spec...], "budgets": [100, 200, 500], "seeds": [...]}],
   "evaluator": [argv of bench/hpo-objective-server.ts],
   "latency": [{"dimension", "history", "repeats"}], "workers": 2}

Quality: one study per (problem, seed) runs to the largest budget; the best value after each
budget is recorded (Optuna's TPE does not depend on the budget, so the first 100 trials of a
500-trial run are a 100-trial run). The parameters are declared as the specs say, in Optuna's
own terms (suggest_float / suggest_int with log and step, suggest_categorical with the choices
as given: strings, numbers, booleans), every trial through ask(fixed_distributions), so the
sampling happens inside ask(), which is timed. The objective values come from the same
TypeScript functions ours uses, through one evaluator process per worker.

Latency: ask() with every parameter sampled on a study pre-filled with `history` completed
random trials, timed per call.
"""
import json
import subprocess
import sys
import time
from multiprocessing import Pool

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

optuna.logging.set_verbosity(optuna.logging.WARNING)

_evaluator = None


def _start_evaluator(argv):
    global _evaluator
    _evaluator = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)


def evaluate(problem, params):
    _evaluator.stdin.write(json.dumps({"problem": problem, "params": params}) + "\n")
    _evaluator.stdin.flush()
    answer = json.loads(_evaluator.stdout.readline())
    if "error" in answer:
        raise RuntimeError(f"{problem}: {answer['error']}")
    return answer["value"]


def distribution(spec):
    kind = spec["kind"]
    if kind == "CATEGORICAL":
        return CategoricalDistribution(spec["choices"])
    log = bool(spec.get("log", False))
    step = spec.get("step")
    if kind == "INT":
        return IntDistribution(int(spec["low"]), int(spec["high"]), log=log, step=int(step) if step is not None else 1)
    return FloatDistribution(float(spec["low"]), float(spec["high"]), log=log, step=step)


def run_quality(task):
    problem, specs, budgets, seed = task
    distributions = {s["name"]: distribution(s) for s in specs}
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed), direction="minimize")
    best = float("inf")
    bests = {}
    ask_seconds = 0.0
    started = time.perf_counter()
    for n in range(1, max(budgets) + 1):
        t = time.perf_counter()
        trial = study.ask(distributions)
        ask_seconds += time.perf_counter() - t
        value = evaluate(problem, trial.params)
        study.tell(trial, value)
        best = min(best, value)
        if n in budgets:
            bests[str(n)] = {"best": best, "seconds": time.perf_counter() - started, "ask_seconds": ask_seconds}
    return {"problem": problem, "seed": seed, "budgets": bests}


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
    tasks = [(q["problem"], q["params"], q["budgets"], s) for q in job.get("quality", []) for s in q["seeds"]]
    quality = []
    if tasks:
        with Pool(job.get("workers", 2), initializer=_start_evaluator, initargs=(job["evaluator"],)) as pool:
            for result in pool.imap_unordered(run_quality, tasks, chunksize=1):
                quality.append(result)
                print(f"optuna {result['problem']} seed {result['seed']} done ({len(quality)}/{len(tasks)})", file=sys.stderr, flush=True)
    latency = [run_latency((l["dimension"], l["history"], l["repeats"])) for l in job.get("latency", [])]
    json.dump({"optuna_version": optuna.__version__, "quality": quality, "latency": latency}, sys.stdout)


if __name__ == "__main__":
    main()
