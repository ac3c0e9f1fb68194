"""docker-compose.yml as `docker-compose config` resolves it: the wiring a cluster depends on.

No Docker engine runs here, so the file is checked the way Compose itself reads it (Debian's
docker-compose; `docker compose config` prints the same model), then the resolved services are
checked: one storage URL and one artifact folder everywhere, healthy-database dependencies, no
default password, localhost-only ports, a GPU worker that runs `genstudy worker` on the Ray head.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tests.deploy.conftest import require_tool

PASSWORD = "c0mpose-test-pw"
RAY_TOKEN = "c0mpose-test-ray-token"
# Settings the compose file reads; a developer's shell must not change what the tests see.
_SETTINGS = ("POSTGRES_PASSWORD", "RAY_AUTH_TOKEN", "POSTGRES_PORT", "STUDY_SPEC", "STUDY_NAME", "STUDY_DIRECTIONS", "N_TRIALS",
             "GPUS_PER_TRIAL", "DATA_DIR", "BIND_ADDRESS", "GENSTUDY_IMAGE")


def compose_command() -> list[str]:
    """Debian's docker-compose, else Docker's compose plugin where a developer has that instead."""
    if not shutil.which("docker-compose") and shutil.which("docker"):
        if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
            return ["docker", "compose"]
    return [require_tool("docker-compose", "docker-compose")]


def compose_config(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in _SETTINGS} | settings
    empty_env_file = tmp_path / "empty.env"  # ignore any .env a developer keeps beside the file
    empty_env_file.write_text("")
    return subprocess.run([*compose_command(), "--env-file", str(empty_env_file), "-f", str(REPO / "docker-compose.yml"), "config"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def services(tmp_path: Path, **settings: str) -> dict[str, dict]:
    proc = compose_config(tmp_path, POSTGRES_PASSWORD=PASSWORD, RAY_AUTH_TOKEN=RAY_TOKEN, **settings)
    assert proc.returncode == 0, proc.stderr
    return yaml.safe_load(proc.stdout)["services"]


@pytest.fixture
def resolved(tmp_path: Path) -> dict[str, dict]:
    return services(tmp_path)


def argv(service: dict, key: str = "command") -> list[str]:
    value = service.get(key) or []
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def option(args: list[str], name: str) -> str | None:
    """The value of ``--name VALUE`` or ``--name=VALUE`` in ``args``."""
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def storage_url(service: dict) -> str | None:
    args = argv(service)
    if args[:1] == ["optuna-dashboard"]:
        return next((a for a in args[1:] if "://" in a), None)
    return option(args, "--storage")


def volume_at(service: dict, target: str) -> dict:
    """The volume mounted at ``target`` as {type, source} (long or short syntax)."""
    for v in service.get("volumes", []):
        if isinstance(v, str):
            source, mount = v.split(":")[:2]
            kind = "bind" if source.startswith((".", "/")) else "volume"
            v = {"type": kind, "source": source, "target": mount}
        if v["target"] == target:
            return v
    raise AssertionError(f"nothing mounted at {target}: {service.get('volumes')}")


def host_ips(service: dict) -> list[str]:
    ips = []
    for p in service.get("ports", []):
        if isinstance(p, dict):  # docker compose v2: long syntax
            ips.append(p.get("host_ip", ""))
        else:  # docker-compose 1.x: "IP:HOST:CONTAINER/tcp"
            parts = str(p).split(":")
            ips.append(parts[0] if len(parts) == 3 else "")
    return ips


def test_every_service_uses_one_storage_url_and_it_carries_the_environment_password(resolved: dict) -> None:
    urls = {name: storage_url(s) for name, s in resolved.items() if storage_url(s)}
    assert set(urls) == {"create-study", "worker", "dashboard"}
    assert len(set(urls.values())) == 1, urls
    url = urls["worker"]
    pg = resolved["postgres"]["environment"]
    assert url == f"postgresql://{pg['POSTGRES_USER']}:{PASSWORD}@postgres:5432/{pg['POSTGRES_DB']}"
    assert pg["POSTGRES_PASSWORD"] == PASSWORD


def test_workers_and_dashboard_share_one_artifact_volume(resolved: dict) -> None:
    folders = {name: option(argv(resolved[name]), "--artifact-dir") for name in ("worker", "dashboard")}
    assert len(set(folders.values())) == 1 and None not in folders.values(), folders
    mounts = [volume_at(resolved[name], folders[name]) for name in folders]
    assert all(m["type"] == "volume" and m["source"] == "artifacts" for m in mounts), mounts


def test_database_users_wait_for_a_healthy_postgres(resolved: dict) -> None:
    check = argv(resolved["postgres"]["healthcheck"], "test")
    assert "pg_isready" in check
    for name in ("create-study", "worker", "dashboard"):
        assert resolved[name]["depends_on"]["postgres"]["condition"] == "service_healthy", name
    worker_deps = resolved["worker"]["depends_on"]
    assert worker_deps["create-study"]["condition"] == "service_completed_successfully"
    assert worker_deps["ray-head"]["condition"] == "service_healthy"
    assert "pgdata" in {volume_at(resolved["postgres"], "/var/lib/postgresql/data")["source"]}


def test_there_is_no_default_password_or_ray_token(tmp_path: Path) -> None:
    proc = compose_config(tmp_path, RAY_AUTH_TOKEN=RAY_TOKEN)  # POSTGRES_PASSWORD unset
    assert proc.returncode != 0
    assert "set POSTGRES_PASSWORD" in proc.stderr
    proc = compose_config(tmp_path, POSTGRES_PASSWORD=PASSWORD)  # RAY_AUTH_TOKEN unset
    assert proc.returncode != 0
    assert "set RAY_AUTH_TOKEN" in proc.stderr


def test_ray_nodes_share_one_token(resolved: dict) -> None:
    for name in ("ray-head", "worker"):
        env = resolved[name]["environment"]
        assert env["RAY_AUTH_MODE"] == "token" and env["RAY_AUTH_TOKEN"] == RAY_TOKEN, name
    assert "RAY_AUTH_TOKEN" not in resolved["dashboard"].get("environment", {})


def test_every_published_port_is_bound_to_localhost(resolved: dict) -> None:
    published = {name: host_ips(s) for name, s in resolved.items() if s.get("ports")}
    assert {"postgres", "dashboard", "ray-head"} <= set(published)
    assert all(ip == "127.0.0.1" for ips in published.values() for ip in ips), published


def test_create_study_is_idempotent_and_matches_the_workers_spec(resolved: dict) -> None:
    create = resolved["create-study"]
    args = argv(create)
    assert args[:3] == ["optuna", "create-study", "--skip-if-exists"] and args[-1] == "--directions"
    worker = argv(resolved["worker"])
    assert option(args, "--study-name") == option(worker, "--study-name") == "gan-lr"
    # The entrypoint appends $STUDY_DIRECTIONS word by word: one direction per metric of the spec.
    assert "STUDY_DIRECTIONS" in " ".join(argv(create, "entrypoint"))
    directions = create["environment"]["STUDY_DIRECTIONS"].split()
    spec = yaml.safe_load((REPO / worker[2]).read_text())
    assert len(directions) == len(spec["metrics"]) and set(directions) <= {"minimize", "maximize"}


def test_settings_reach_every_service_that_reads_them(tmp_path: Path) -> None:
    s = services(tmp_path, STUDY_NAME="cgan-run", STUDY_SPEC="studies/cgan.yaml", STUDY_DIRECTIONS="minimize maximize",
                 GPUS_PER_TRIAL="0.25", N_TRIALS="40")
    worker = argv(s["worker"])
    assert option(argv(s["create-study"]), "--study-name") == option(worker, "--study-name") == "cgan-run"
    assert worker[2] == "studies/cgan.yaml" and option(worker, "--gpus-per-trial") == "0.25"
    assert option(worker, "--n-trials") == "40"
    spec = yaml.safe_load((REPO / "studies/cgan.yaml").read_text())
    assert len(s["create-study"]["environment"]["STUDY_DIRECTIONS"].split()) == len(spec["metrics"])


def test_gpu_worker_runs_genstudy_worker_on_the_ray_head(resolved: dict) -> None:
    worker = resolved["worker"]
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devices), devices
    args = argv(worker)
    assert args[:2] == ["genstudy", "worker"]
    head = argv(resolved["ray-head"])
    assert head[:3] == ["ray", "start", "--head"] and "--block" in head
    # Trials must land in worker containers (artifact volume, data), never on the head.
    assert option(head, "--num-cpus") == "0" and option(head, "--num-gpus") == "0"
    address = f"ray-head:{option(head, '--port')}"
    assert option(args, "--ray-address") == address
    assert option(args, "--gpus-per-trial") == "0.5"
    assert option(args, "--n-trials") == "200"
    # The container joins the cluster with its GPUs before it runs trials there.
    assert f"ray start --address={address}" in " ".join(argv(worker, "entrypoint"))
    assert "shm_size" in worker and "shm_size" in resolved["ray-head"]


def test_worker_command_is_one_that_genstudy_accepts(resolved: dict) -> None:
    from genstudy.cli import _parser

    args = _parser().parse_args(argv(resolved["worker"])[1:])
    assert args.command == "worker" and args.ray_address == "ray-head:6379" and args.gpus_per_trial == 0.5
    assert args.artifact_dir == "/artifacts" and args.study_name == "gan-lr"


def test_dashboard_serves_the_shared_storage_and_artifacts(resolved: dict) -> None:
    args = argv(resolved["dashboard"])
    assert args[0] == "optuna-dashboard"
    assert option(args, "--host") == "0.0.0.0"  # inside the container; published on 127.0.0.1 only
    assert host_ips(resolved["dashboard"]) == ["127.0.0.1"]
    assert volume_at(resolved["dashboard"], option(args, "--artifact-dir"))["source"] == "artifacts"


def test_dockerfile_installs_the_lock_then_the_package() -> None:
    lines = [ln.strip() for ln in (REPO / "Dockerfile").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines[0] == "FROM python:3.11-slim"
    installs = [i for i, ln in enumerate(lines) if "pip install" in ln]
    assert "-r requirements.lock" in lines[installs[0]] and "--no-deps ." in lines[installs[1]]
    for ln in lines:
        if ln.startswith("COPY "):
            for source in ln.split()[1:-1]:
                assert (REPO / source).exists(), source
