"""Evaluation cost: the share of a default trial's time spent on metrics, per model family.

A default trial is a spec with nothing but ``objective`` set (mnist5k, 5 epochs, batch 64,
evaluation defaults: 1000 samples, IWAE k=50), run in this process with the classifier and the
test statistics already cached (a warm-up trial fills the cache first). The trial's own user
attrs split its time: ``train_seconds``, ``validate_seconds`` (the per-epoch pruning values) and
``eval_seconds`` (the final metrics). For the VAE the final metrics are also timed one by one.
Target: metrics at most 15% of the trial. Writes its section of BENCHMARKS.md (evaluation).

    .venv/bin/python bench/evaluation.py
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path

import optuna
import torch
from _markdown import write_section  # bench/ is on sys.path when run as a script

from genstudy.objectives import EvalContext
from genstudy.objectives._vae import _IWAE_CPU_IMAGES, _IWAE_CPU_SAMPLES, VaeFamily
from genstudy.runner import run_study
from genstudy.spec import parse_spec

FAMILIES = ("vae", "gan", "gan_ae")


def default_trial(objective: str, runs: Path) -> dict[str, float]:
    spec = parse_spec({"objective": objective, "budget": {"n_trials": 2}, "pruner": {"name": "none"}}, source="bench")
    outcome = run_study(spec, study_name=objective, n_trials=2, create=True, runs_dir=runs, worker_index=0)
    last = [t for t in outcome.study.trials if t.state == optuna.trial.TrialState.COMPLETE][-1]  # the second: warm cache
    a = last.user_attrs
    total = last.duration.total_seconds()
    return {"train": a["train_seconds"], "validate": a["validate_seconds"], "eval": a["eval_seconds"], "total": total,
            "precision": a.get("train_precision", "fp32")}


def vae_breakdown(runs: Path) -> list[tuple[str, float]]:
    """Each final VAE metric timed alone, on a model trained for one epoch."""
    from genstudy.metrics import iwae_log_likelihood, precision_recall, select_parzen_sigma, ssim
    from genstudy.objectives._gen_eval import classifier_logits
    from genstudy.objectives._train import vae_neg_elbo

    spec = parse_spec({"objective": "vae"}, source="bench")
    ctx = EvalContext.load(spec, cache_dir=runs / "cache", device=torch.device("cpu"))
    fam = VaeFamily(spec, ctx)
    params = {"lr": 1e-3, "batch_size": 64, "latent_dim": 16, "beta": 1.0, "activation": "relu", "width": 32, "epochs": 1}
    run = fam.build(params, 0)
    fam.train_epoch(run, params)
    model, ds, ev = run.model.eval(), ctx.dataset, spec.evaluation
    rows = []

    def timed(name: str, fn) -> object:
        t0 = time.perf_counter()
        out = fn()
        rows.append((name, time.perf_counter() - t0))
        return out

    with torch.no_grad():
        timed(f"IWAE k={ev.iwae_k} on {len(ds.test_x)} test images, as before: 250 images x {ev.iwae_k} samples per "
              "call, NCHW", lambda: iwae_log_likelihood(model.log_importance_weights, ds.test_x, k=ev.iwae_k, batch_size=250))
        model = model.to(memory_format=torch.channels_last)  # as VaeFamily.evaluate on a CPU
        timed(f"IWAE k={ev.iwae_k} on {len(ds.test_x)} test images, as genstudy: {_IWAE_CPU_IMAGES} images x "
              f"{_IWAE_CPU_SAMPLES} samples per call, NHWC (channels_last)",
              lambda: iwae_log_likelihood(model.log_importance_weights, ds.test_x, k=ev.iwae_k,
                                          batch_size=_IWAE_CPU_IMAGES, k_chunk=_IWAE_CPU_SAMPLES))
        samples = timed(f"sample {ev.n_samples} images", lambda: model.sample(ev.n_samples, generator=torch.Generator().manual_seed(0)))
        feats = timed("FID (classifier features + Frechet)", lambda: ctx.fid.features(samples))
        timed("inception score / class coverage logits", lambda: classifier_logits(ctx, samples))
        timed("k-NN precision / recall", lambda: precision_recall(ctx.test_features, torch.as_tensor(feats)))
        timed("Parzen bandwidth + log-likelihood", lambda: select_parzen_sigma(samples, ds.val_x))
        timed("held-out negative ELBO", lambda: vae_neg_elbo(model, ds.test_x))
        timed("reconstruction MSE / SSIM", lambda: ssim(model.reconstruct(ds.test_x), ds.test_x).mean())
    return rows


def main() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_flush_denormal(True)
    with tempfile.TemporaryDirectory(prefix="genstudy-bench-eval-") as tmp:
        runs = Path(tmp)
        results = {}
        for objective in FAMILIES:
            results[objective] = default_trial(objective, runs / objective)
            r = results[objective]
            share = (r["validate"] + r["eval"]) / r["total"]
            print(f"{objective}: train {r['train']:.2f} s, validate {r['validate']:.2f} s, eval {r['eval']:.2f} s, "
                  f"total {r['total']:.2f} s: metrics {share:.0%}", flush=True)
        breakdown = vae_breakdown(runs / "vae")
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}. "
        "Command: `.venv/bin/python bench/evaluation.py`. One default trial per family (only `objective` set: "
        "mnist5k, 5 epochs, batch 64, 1000 samples, IWAE k=50), classifier and test statistics cached. Target: metrics "
        "at most 15% of the trial.",
        "",
        "| family | train s | per-epoch validation s | final metrics s | trial s | metrics share | training precision |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *[f"| {k} | {r['train']:.2f} | {r['validate']:.2f} | {r['eval']:.2f} | {r['total']:.2f} | "
          f"{(r['validate'] + r['eval']) / r['total']:.0%} | {r['precision']} |" for k, r in results.items()],
        "",
        "VAE final metrics one by one (a model trained one epoch):",
        "",
        "| metric | seconds |",
        "| --- | --- |",
        *[f"| {name} | {sec:.3f} |" for name, sec in breakdown],
    ]
    write_section("evaluation", "## evaluation: share of a default trial spent on metrics\n\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
