"""Every name genstudy writes to Optuna storage, defined once.

Writers (``objectives/``, ``workers/``, ``storage/``) and readers (``analysis/``, ``report.py``,
the CLI) import these constants; nothing spells them as literals. They are a public schema:
studies written by one version are read by the next, so a name never changes meaning.

Metric names (``fid``, ``loss``, ...) are declared by each family with its metrics
(``genstudy.families``) and by ``genstudy.metrics``; they are stored as user attrs too.
"""

from __future__ import annotations

__all__ = [
    "ARTIFACT_PREFIX",
    "CLASSIFIER_ACCURACY",
    "CURVES",
    "DEVICE",
    "DIVERGED",
    "EVAL_SECONDS",
    "FAIL_REASON",
    "OPTUNA_FAILED_TRIAL",
    "OPTUNA_RETRY_HISTORY",
    "PARAMS_RESOLVED",
    "PRUNE_REASON",
    "RESUMED_FROM",
    "RESUME_CHECKPOINT",
    "RESUME_ERROR",
    "SEED",
    "SEEDS",
    "SPEC",
    "SPEC_DIGEST",
    "STD_SUFFIX",
    "TRAIN_PRECISION",
    "TRAIN_SECONDS",
    "VALIDATE_SECONDS",
    "VALIDATION_OF",
    "VALIDATION_SEEDS",
    "VAL_PREFIX",
    "WORKER",
    "artifact_attr",
]

# --- study user attrs ---------------------------------------------------------------------------
SPEC = "genstudy:spec"  # the resolved spec (JSON) the study was created with
SPEC_DIGEST = "genstudy:spec_sha256"  # its sha256 (genstudy.spec.spec_digest)

# --- trial user attrs ---------------------------------------------------------------------------
PARAMS_RESOLVED = "params_resolved"  # every param of the family: defaults, fixed and suggested
CURVES = "curves"  # {curve name: [value per epoch]}: training losses, val_* values
SEEDS = "seeds"  # [{"seed": s, metric: value, ...}] one dict per repeat
STD_SUFFIX = "_std"  # "<metric>_std": the standard deviation over repeats
PRUNE_REASON = "prune_reason"  # why the trial ended PRUNED (pruner rule, divergence)
DIVERGED = "diverged"  # how a PRUNE_REASON of a diverged trial starts
FAIL_REASON = "fail_reason"  # why the trial ended FAIL ("ExcType: message", or the worker that died)
WORKER = "worker"  # {"id", "host", "pid", ...}: the worker that ran the trial
DEVICE = "device"  # the torch device the trial trained on
TRAIN_PRECISION = "train_precision"  # fp32 | bf16
CLASSIFIER_ACCURACY = "classifier_accuracy"  # test accuracy of the domain classifier (sample metrics)
RESUME_CHECKPOINT = "resume_checkpoint"  # {"artifact_id", "trial", "epoch"} of the latest epoch checkpoint
RESUMED_FROM = "resumed_from"  # {"trial", "epoch"}: this trial continued that trial's training
RESUME_ERROR = "resume_error"  # why an inherited checkpoint could not be used
VALIDATION_OF = "validation_of"  # trial number whose params a validation trial re-runs
VALIDATION_SEEDS = "validation_seeds"  # the fresh seeds a validation trial trains
ARTIFACT_PREFIX = "artifact:"  # "artifact:<file name>" -> artifact id in the study's artifact store
VAL_PREFIX = "val_"  # CURVES key of a held-out per-epoch value: "val_<name>" ("val_<first metric>" drives pruning)
TRAIN_SECONDS = "train_seconds"  # wall time per seed spent training, validation excluded
VALIDATE_SECONDS = "validate_seconds"  # wall time per seed of the per-epoch validation
EVAL_SECONDS = "eval_seconds"  # wall time per seed of the final evaluation
SEED = "seed"  # the key of a SEEDS entry that holds its seed

# --- Optuna's own system attrs that genstudy reads ----------------------------------------------
OPTUNA_FAILED_TRIAL = "failed_trial"  # set by Optuna's retry on the retry: the trial it retries
OPTUNA_RETRY_HISTORY = "retry_history"  # numbers of the trials this one retries, oldest first


def artifact_attr(file_name: str) -> str:
    """The user attr holding the artifact id of ``file_name`` (``samples.png``, ``checkpoint.pt``)."""
    return f"{ARTIFACT_PREFIX}{file_name}"
