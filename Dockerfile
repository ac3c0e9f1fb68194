# The genstudy image: every service of docker-compose.yml runs it (genstudy, optuna, optuna-dashboard,
# ray). One image for CPU and GPU hosts: requirements.lock pins PyPI's torch 2.14.1, the CUDA build
# (with its nvidia-* wheels), which also runs on a CPU; on a GPU host it needs an NVIDIA driver
# recent enough for CUDA 13 and the NVIDIA Container Toolkit.
#
#   docker build -t genstudy .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RAY_USAGE_STATS_ENABLED=0

WORKDIR /app

# Dependencies first (the slow layer), from the lock file alone so code edits keep the cache.
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY pyproject.toml README.md ./
COPY genstudy ./genstudy
COPY studies ./studies
RUN pip install --no-deps . \
    && useradd --create-home --uid 1000 genstudy \
    && mkdir -p /artifacts /data /app/genstudy-runs \
    && chown genstudy:genstudy /artifacts /app/genstudy-runs

# A named volume mounted on /artifacts starts with this folder's owner, so the workers can write.
USER genstudy
CMD ["genstudy", "--help"]
