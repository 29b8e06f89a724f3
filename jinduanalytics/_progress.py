"""Progress reporting for long multi-stage work (tqdm on stderr), and per-stage timings."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager


@contextmanager
def stages(names: list[str], *, enabled: bool = True, desc: str = ""):
    """Yield ``step(name)``: call it when a stage starts. Timings land in ``step.timings``.

    With ``enabled`` a tqdm bar on stderr advances one tick per stage.
    """
    bar = None
    if enabled:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(names), desc=desc, file=sys.stderr, leave=False)
    timings: dict[str, float] = {}
    current: list = [None, 0.0]

    def step(name: str) -> None:
        now = time.perf_counter()
        if current[0] is not None:
            timings[current[0]] = now - current[1]
            if bar is not None:
                bar.update(1)
        current[0], current[1] = name, now
        if bar is not None:
            bar.set_postfix_str(name)

    step.timings = timings  # type: ignore[attr-defined]
    try:
        yield step
    finally:
        if current[0] is not None:
            timings[current[0]] = time.perf_counter() - current[1]
        if bar is not None:
            bar.update(bar.total - bar.n)
            bar.close()
