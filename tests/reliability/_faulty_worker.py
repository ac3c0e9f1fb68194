"""``genstudy`` with faults injected, for the reliability tests: ``python -m tests.reliability._faulty_worker ARGS``.

- ``GENSTUDY_TEST_AS_HEADROOM_MB``: once everything is imported, cap the address space
  (RLIMIT_AS) at the current size plus this many MiB, so a big enough trial really runs out
  of memory in torch's CPU allocator.
- Trials whose ``lr`` is one of the marker values below meet a fault in the optimizer step,
  the innermost place a trial's own code runs: NaN weights (the loss diverges), a plain
  exception, or the ``torch.OutOfMemoryError`` a GPU raises when it runs out of memory.

Everything else is the real ``genstudy.cli.main``.
"""

from __future__ import annotations

import os
import resource
import sys

NAN_LR = 0.000123
RAISE_LR = 0.000234
GPU_OOM_LR = 0.000345


def _inject() -> None:
    import torch

    real_step = torch.optim.Adam.step

    def step(self, *args, **kwargs):
        lr = self.param_groups[0]["lr"]
        if lr == NAN_LR:
            with torch.no_grad():
                for group in self.param_groups:
                    for p in group["params"]:
                        p.fill_(float("nan"))
            return None
        if lr == RAISE_LR:
            raise ValueError("injected fault in the optimizer step")
        if lr == GPU_OOM_LR:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (injected)")
        return real_step(self, *args, **kwargs)

    torch.optim.Adam.step = step


def _cap_memory(headroom_mb: int) -> None:
    with open("/proc/self/status") as f:
        size = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    limit = size + headroom_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main() -> int:
    import genstudy.cli
    import genstudy.objectives  # noqa: F401 - imported before the memory cap
    import genstudy.runner  # noqa: F401

    _inject()
    headroom = os.environ.get("GENSTUDY_TEST_AS_HEADROOM_MB")
    if headroom:
        _cap_memory(int(headroom))
    return genstudy.cli.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
