"""``genstudy`` with faults injected, for the reliability tests: ``python -m tests.reliability._faulty_worker ARGS``.

Trials whose ``lr`` is one of the marker values below meet a fault in the optimizer step, the
innermost place a trial's own code runs:

- ``NAN_LR``: the weights turn NaN (the loss diverges, as with a too-high learning rate);
- ``RAISE_LR``: a plain exception;
- ``CPU_OOM_LR``: a 1 PiB tensor: torch's CPU allocator really fails (more than any address
  space, so whatever the machine's overcommit policy);
- ``PY_OOM_LR``: a 1 PiB ``bytearray``: Python's own ``MemoryError``;
- ``GPU_OOM_LR``: the ``torch.OutOfMemoryError`` a GPU raises when its memory runs out.

Everything else is the real ``genstudy.cli.main``.
"""

from __future__ import annotations

import sys

NAN_LR = 0.000123
RAISE_LR = 0.000234
GPU_OOM_LR = 0.000345
CPU_OOM_LR = 0.000456
PY_OOM_LR = 0.000567
_PIB = 1 << 50


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
        if lr == CPU_OOM_LR:
            torch.empty(_PIB, dtype=torch.uint8)
        if lr == PY_OOM_LR:
            bytearray(_PIB)
        return real_step(self, *args, **kwargs)

    torch.optim.Adam.step = step


def main() -> int:
    import faulthandler

    faulthandler.enable()  # a native crash would print where it happened
    import genstudy.cli

    _inject()
    return genstudy.cli.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
