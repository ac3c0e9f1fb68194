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
import statistics
import tempfile
import time
from pathlib import Path

import optuna
import torch
from _markdown import write_section  # bench/ is on sys.path when run as a script

from genstudy.families.vae import _IWAE_CPU_IMAGES, _IWAE_CPU_SAMPLES, VaeFamily
from genstudy.objectives import EvalContext
from genstudy.runner import run_study
from genstudy.spec import parse_spec
from genstudy.workers import WorkerSettings

FAMILIES = ("vae", "gan", "gan_ae")
LONGER = (10, 25)  # epochs of the budget scan


def default_trial(objective: str, runs: Path, epochs: int | None = None) -> dict[str, float]:
    """The second of two trials (the first fills the caches); with ``epochs``, one trial of that
    budget in ``runs`` whose caches a default trial already filled."""
    budget = {"n_trials": 2} if epochs is None else {"n_trials": 1, "epochs": epochs}
    spec = parse_spec({"objective": objective, "budget": budget, "pruner": {"name": "none"}}, source="bench")
    outcome = run_study(WorkerSettings(spec=spec, study_name=f"{objective}-{epochs or 'default'}", n_trials=budget["n_trials"], create=True,
                        runs_dir=runs, worker_index=0))
    last = [t for t in outcome.study.trials if t.state == optuna.trial.TrialState.COMPLETE][-1]
    a = last.user_attrs
    total = last.duration.total_seconds()
    return {"train": a["train_seconds"], "validate": a["validate_seconds"], "eval": a["eval_seconds"], "total": total,
            "precision": a.get("train_precision", "fp32")}


def share(r: dict[str, float]) -> float:
    return (r["validate"] + r["eval"]) / r["total"]


def vae_breakdown(runs: Path) -> list[tuple[str, float]]:
    """Each final VAE metric timed alone, on a model trained for one epoch."""
    from genstudy.families._samples import classifier_logits
    from genstudy.families.vae import vae_neg_elbo
    from genstudy.metrics import iwae_log_likelihood, precision_recall, select_parzen_sigma, ssim

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


def gan_ae_validation(runs: Path, repeats: int = 5) -> list[tuple[str, float]]:
    """One per-epoch GAN-AE validation (default params, judged by FID), the old way and genstudy's,
    interleaved on the same model trained one epoch; medians of ``repeats``."""
    from genstudy.families.gan_ae import _PRUNE_SEED, GanAeFamily
    from genstudy.metrics import mse, ssim
    from genstudy.models import reconstruction_loss

    spec = parse_spec({"objective": "gan_ae"}, source="bench")
    ctx = EvalContext.load(spec, cache_dir=runs / "cache", device=torch.device("cpu"))
    fam = GanAeFamily(spec, ctx)
    params = {name: d.default for name, d in spec.objective_def.params.items()} | {"epochs": 1}
    run = fam.build(params, 0)
    fam.train_epoch(run, params)
    x, kind = ctx.dataset.val_x, params["adv_loss"]

    @torch.no_grad()
    def before() -> None:  # genstudy's validation until this change: three encoder passes and SSIM every epoch
        model = run.model.eval()
        recon = torch.cat([model.reconstruct(x[i : i + 500]) for i in range(0, len(x), 500)])
        for value in (reconstruction_loss(recon, x, kind=params["recon_loss"]), mse(recon, x).mean(), ssim(recon, x).mean()):
            float(value)
        rng = torch.Generator().manual_seed(_PRUNE_SEED)
        float(model.d_loss(x, kind=kind, generator_rng=rng))
        float(model.ae_loss(x, kind=kind, generator_rng=rng).adv)
        ctx.fid.fid(fam._samples(run, spec.evaluation.prune_fid_samples, _PRUNE_SEED))  # the FID stand-in, unchanged

    times: dict[str, list[float]] = {"before": [], "now": []}
    for _ in range(repeats):
        for name, fn in (("before", before), ("now", lambda: fam.validate(run, params, "fid"))):
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return [(f"GAN-AE per-epoch validation ({len(x)} validation images, FID of {spec.evaluation.prune_fid_samples} "
             "samples), as before: reconstruction, MSE and SSIM, d_loss and ae_loss (3 encoder passes)",
             statistics.median(times["before"])),
            ("GAN-AE per-epoch validation, as genstudy now: one encoder/decoder pass, its codes reused for both "
             "adversarial losses, no MSE/SSIM unless the study is judged by them", statistics.median(times["now"]))]


def main() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_flush_denormal(True)
    with tempfile.TemporaryDirectory(prefix="genstudy-bench-eval-") as tmp:
        runs = Path(tmp)
        results, longer = {}, {}
        for objective in FAMILIES:
            results[objective] = default_trial(objective, runs / objective)
            r = results[objective]
            print(f"{objective}: train {r['train']:.2f} s, validate {r['validate']:.2f} s, eval {r['eval']:.2f} s, "
                  f"total {r['total']:.2f} s: metrics {share(r):.0%}", flush=True)
            for epochs in LONGER:  # the same evaluation after more training: the share is a budget's property
                longer[objective, epochs] = default_trial(objective, runs / objective, epochs)
                print(f"{objective}, {epochs} epochs: metrics {share(longer[objective, epochs]):.0%}", flush=True)
        breakdown = vae_breakdown(runs / "vae") + gan_ae_validation(runs / "gan_ae")
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}. "
        "Command: `.venv/bin/python bench/evaluation.py`. One default trial per family (only `objective` set: "
        "mnist5k, 5 epochs, batch 64, 1000 samples, IWAE k=50), classifier and test statistics cached. Target: metrics "
        "at most 15% of the trial.",
        "",
        "| family | train s | per-epoch validation s | final metrics s | trial s | metrics share | training precision |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *[f"| {k} | {r['train']:.2f} | {r['validate']:.2f} | {r['eval']:.2f} | {r['total']:.2f} | "
          f"{share(r):.0%} | {r['precision']} |" for k, r in results.items()],
        "",
        "The same families and evaluation after longer training (one trial each, caches warm): the evaluation costs the "
        "same, so its share falls with the budget.",
        "",
        "| family | " + " | ".join(f"{e} epochs: trial s, metrics share" for e in (5, *LONGER)) + " |",
        "| --- | " + " | ".join("---" for _ in (5, *LONGER)) + " |",
        *[f"| {k} | {r['total']:.1f} s, {share(r):.0%} | "
          + " | ".join(f"{longer[k, e]['total']:.1f} s, {share(longer[k, e]):.0%}" for e in LONGER) + " |"
          for k, r in results.items()],
        "",
        "VAE final metrics one by one, then the GAN-AE's per-epoch validation before and after its change, side by "
        "side (each on a model trained one epoch):",
        "",
        "| work | seconds |",
        "| --- | --- |",
        *[f"| {name} | {sec:.3f} |" for name, sec in breakdown],
    ]
    write_section("evaluation", "## evaluation: share of a default trial spent on metrics\n\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
