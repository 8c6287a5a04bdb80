"""Bayesian suggestions for amlcompute.dev Sweeps, from Optuna (TPE or GP).

The operator starts this process and talks to it over stdin/stdout, one JSON object per line.
It is stateless: every request carries the whole history of the sweep, so the operator can
restart it at any time (as Katib restarts its suggestion services) and get the same answer.

Request:  {"id": 1, "algorithm": "TPE", "goal": "Minimize", "seed": 7, "startupTrials": 4,
           "space": [{"name": "lr", "type": "loguniform", "min": -7, "max": -1}, ...],
           "trials": [{"parameters": {"lr": "0.01"}, "state": "COMPLETE", "value": 0.3}, ...],
           "count": 2}
Response: {"id": 1, "suggestions": [{"lr": "0.0123"}, ...]}  or  {"id": 1, "error": "..."}

Distributions follow Azure ML: loguniform(min, max) is exp(uniform(min, max)), quniform rounds to q.
"""
import json
import math
import sys
import warnings

import optuna

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.filterwarnings("ignore")


def fmt(v):
    return f"{v:.12g}"


def distribution(p):
    t = p["type"]
    if t == "choice":
        return optuna.distributions.CategoricalDistribution(p["values"])
    if t == "uniform":
        return optuna.distributions.FloatDistribution(p["min"], p["max"])
    if t == "quniform":
        return optuna.distributions.FloatDistribution(p["min"], p["max"], step=p["q"])
    if t in ("loguniform", "qloguniform"):
        return optuna.distributions.FloatDistribution(math.exp(p["min"]), math.exp(p["max"]), log=True)
    raise ValueError(f"{t} is not supported by Bayesian sampling")


def to_internal(p, dist, raw):
    if p["type"] == "choice":
        return raw
    v = float(raw)
    return min(max(v, dist.low), dist.high)


def to_external(p, value):
    if p["type"] == "choice":
        return value
    if p["type"] == "qloguniform":
        value = round(value / p["q"]) * p["q"]
    if p["type"] == "quniform":
        value = round(value / p["q"]) * p["q"]
    return fmt(value)


def sampler(req):
    seed = req.get("seed")
    if req.get("algorithm", "TPE") == "GP":
        return optuna.samplers.GPSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=req.get("startupTrials", 10), constant_liar=True)


STATES = {"COMPLETE": optuna.trial.TrialState.COMPLETE, "RUNNING": optuna.trial.TrialState.RUNNING,
          "FAIL": optuna.trial.TrialState.FAIL}


def suggest(req):
    space = req["space"]
    dists = {p["name"]: distribution(p) for p in space}
    direction = "maximize" if req.get("goal") == "Maximize" else "minimize"
    study = optuna.create_study(direction=direction, sampler=sampler(req))
    for t in req.get("trials", []):
        state = STATES[t.get("state", "COMPLETE")]
        if state == optuna.trial.TrialState.COMPLETE and t.get("value") is None:
            state = optuna.trial.TrialState.FAIL
        params = {p["name"]: to_internal(p, dists[p["name"]], t["parameters"][p["name"]]) for p in space}
        study.add_trial(optuna.trial.create_trial(
            params=params, distributions=dists, state=state,
            value=t.get("value") if state == optuna.trial.TrialState.COMPLETE else None))
    out = []
    for _ in range(int(req.get("count", 1))):
        trial = study.ask(dists)
        out.append({p["name"]: to_external(p, trial.params[p["name"]]) for p in space})
    return out


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        req = {}
        try:
            req = json.loads(line)
            resp = {"id": req.get("id"), "suggestions": suggest(req)}
        except Exception as err:  # the operator shows it as a condition; the process lives on
            resp = {"id": req.get("id"), "error": f"{type(err).__name__}: {err}"}
        sys.stdout.write(json.dumps(resp) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
