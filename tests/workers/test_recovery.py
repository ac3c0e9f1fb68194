"""Recovery of a dead worker's trial without Ray in the way: the heartbeat/driver race, orphans,
actor planning, and resuming training from a checkpoint as if never interrupted."""

from __future__ import annotations

import io
import threading

import optuna
import pytest
import torch
from optuna.trial import TrialState

from genstudy import names
from genstudy.errors import GenstudyError
from genstudy.objectives._resume import load_run_state, run_state
from genstudy.storage import RetryWithCheckpoint, claim_lock_for, fail_and_retry, open_storage
from genstudy.workers import RayOptions, plan_actors, recover_worker_trials
from genstudy.workers._ray import _actor_device

S = TrialState


def _study(pg_url: str) -> optuna.Study:
    return optuna.create_study(study_name="r", storage=open_storage(pg_url, heartbeat=False), direction="minimize")


def _running(study: optuna.Study, worker_id: str | None, **attrs) -> optuna.Trial:
    trial = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    if worker_id is not None:
        trial.set_user_attr(names.WORKER, {"id": worker_id})
    for k, v in attrs.items():
        trial.set_user_attr(k, v)
    return trial


def _retries_of(study: optuna.Study, number: int) -> list[optuna.trial.FrozenTrial]:
    return [t for t in study.get_trials(deepcopy=False) if (t.system_attrs.get("retry_history") or [None])[-1] == number]


@pytest.mark.postgres
def test_driver_and_heartbeat_racing_on_one_trial_make_exactly_one_retry(pg_url: str) -> None:
    study = _study(pg_url)
    trial = _running(study, "w1", resume_checkpoint={"artifact_id": "a", "trial": 0, "epoch": 2}, fid=3.0)
    results: list[int | None] = []
    threads = [threading.Thread(target=lambda: results.append(
        fail_and_retry(_study_again(pg_url), trial._trial_id, "worker died", max_retry=3))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is not None for r in results) == 1, results
    retries = _retries_of(study, trial.number)
    assert len(retries) == 1
    retry = retries[0]
    assert retry.state == S.WAITING and retry.params == study.trials[trial.number].params
    # the retry inherits where training got to, not the dead trial's results or failure
    assert retry.user_attrs == {"resume_checkpoint": {"artifact_id": "a", "trial": 0, "epoch": 2}}
    assert RetryWithCheckpoint.retried_trial_number(retry) == trial.number
    assert study.trials[trial.number].user_attrs["fail_reason"] == "worker died"


def _study_again(pg_url: str) -> optuna.Study:
    return optuna.load_study(study_name="r", storage=open_storage(pg_url, heartbeat=False))


@pytest.mark.postgres
def test_trial_the_heartbeat_already_failed_is_left_alone_by_the_driver(pg_url: str) -> None:
    study = _study(pg_url)
    trial = _running(study, "w1")
    storage = study._storage
    assert storage.set_trial_state_values(trial._trial_id, state=S.FAIL)  # what fail_stale_trials does first
    RetryWithCheckpoint(max_retry=3)(study, storage.get_trial(trial._trial_id))
    assert recover_worker_trials(study, "w1", "worker died", claim=claim_lock_for(pg_url, "r")) == []
    assert len(_retries_of(study, trial.number)) == 1


@pytest.mark.postgres
def test_driver_recovers_only_the_dead_workers_trials_and_untagged_orphans(pg_url: str) -> None:
    study = _study(pg_url)
    mine, other, orphan = _running(study, "dead"), _running(study, "alive"), _running(study, None)
    done = _running(study, "dead")
    study.tell(done, 0.5)
    retried = recover_worker_trials(study, "dead", "worker died", claim=claim_lock_for(pg_url, "r"))
    assert sorted(retried) == sorted([mine.number, orphan.number])
    states = {t.number: t.state for t in study.get_trials(deepcopy=False)}
    assert states[other.number] == S.RUNNING, "another worker's trial is never touched"
    assert states[done.number] == S.COMPLETE, "finished trials are never touched"
    assert "before the trial was tagged" in study.trials[orphan.number].user_attrs["fail_reason"]


@pytest.mark.postgres
def test_retries_stop_after_max_retry(pg_url: str) -> None:
    study = _study(pg_url)
    trial = _running(study, "w")
    for _ in range(3):
        new = fail_and_retry(study, trial._trial_id, "died", max_retry=2)
        if new is None:
            break
        trial = optuna.Trial(study, study._storage.get_trial_id_from_study_id_trial_number(study._study_id, new))
        study._storage.set_trial_state_values(trial._trial_id, state=S.RUNNING)
    assert [t.state for t in study.get_trials(deepcopy=False)] == [S.FAIL, S.FAIL, S.FAIL]


def test_actors_fill_the_scarcer_of_gpu_and_cpu_slots() -> None:
    cluster = {"CPU": 16.0, "GPU": 2.0}
    assert plan_actors(cluster, RayOptions(gpus_per_trial=0.25), remaining=100) == (8, 0.25)
    assert plan_actors(cluster, RayOptions(gpus_per_trial=0.25, cpus_per_trial=4), remaining=100) == (4, 0.25)
    assert plan_actors(cluster, RayOptions(), remaining=100) == (2, 1.0), "GPUs present: one per actor by default"
    assert plan_actors({"CPU": 2.0}, RayOptions(), remaining=100) == (2, 0.0), "no GPU: CPU actors"
    assert plan_actors(cluster, RayOptions(workers=3, gpus_per_trial=0.5), remaining=100) == (3, 0.5)
    assert plan_actors(cluster, RayOptions(gpus_per_trial=0.25), remaining=3) == (3, 0.25), "no idle actors"


def test_impossible_ray_options_are_refused_with_the_fix() -> None:
    with pytest.raises(GenstudyError, match=r"--gpus-per-trial 1.0: the Ray cluster has 0 GPUs.*--gpus-per-trial 0"):
        plan_actors({"CPU": 4.0}, RayOptions(gpus_per_trial=1.0), remaining=5)
    with pytest.raises(GenstudyError, match="--gpus-per-trial 1.5"):
        RayOptions(gpus_per_trial=1.5)
    with pytest.raises(GenstudyError, match="--cpus-per-trial 0"):
        RayOptions(cpus_per_trial=0)
    with pytest.raises(GenstudyError, match="--workers 0"):
        RayOptions(workers=0)


def test_actor_trains_on_the_device_ray_assigned() -> None:
    assert _actor_device("auto", has_gpu=True) == "cuda"
    assert _actor_device("cuda:3", has_gpu=True) == "cuda", "Ray's CUDA_VISIBLE_DEVICES holds only the assigned GPU"
    assert _actor_device("auto", has_gpu=False) == "cpu", "a CPU actor never grabs a GPU it was not given"
    assert _actor_device("cuda", has_gpu=False) == "cpu"


def test_resumed_training_matches_uninterrupted_training_exactly() -> None:
    from genstudy.data import load_dataset
    from genstudy.families.vae import _Run, train_vae_epoch
    from genstudy.models.vae import VAE, VAEConfig

    data = load_dataset("toy", device=torch.device("cpu")).train_x[:256]

    def build() -> _Run:
        torch.manual_seed(0)
        model = VAE(VAEConfig(tuple(data.shape[1:]), latent_dim=4, width=8, activation="relu"))
        return _Run(model, torch.optim.Adam(model.parameters(), lr=1e-3), torch.Generator().manual_seed(0))

    def epoch(run: _Run) -> float:
        return train_vae_epoch(run.model, run.optimizer, data, batch_size=32, beta=1.0, generator=run.generator)

    straight = build()
    epoch(straight)
    buffer = io.BytesIO()  # through a file, loaded as a retry loads it: weights_only
    torch.save({"run": run_state(straight), "rng": torch.get_rng_state()}, buffer)
    buffer.seek(0)
    payload = torch.load(buffer, weights_only=True)
    saved, rng = payload["run"], payload["rng"]
    expected = [epoch(straight) for _ in range(2)]

    resumed = build()
    load_run_state(resumed, saved)
    torch.set_rng_state(rng)
    assert [epoch(resumed) for _ in range(2)] == expected
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
