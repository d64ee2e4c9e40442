"""What a long run is doing now, told to whoever watches it.

:func:`motcua.placement.run_placement` and :func:`motcua.staffing.run_staffing`
take a ``progress`` callback (:data:`ProgressCallback`) and call it with a
:class:`Progress` at each step; the app's progress bar shows the step in the
page's language (text ``stage_<step>`` when it has one), a log the English text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Progress", "ProgressCallback", "report_to"]


@dataclass(frozen=True)
class Progress:
    """One step of a run.

    step : a stable name: placement ``matrix``, ``solving``, ``pareto``, ``summary``;
        staffing ``forecast``, ``model``, ``solving``, ``summary``.
    text : the step in English words, e.g. ``solving lscp``.
    objective, bound : the best value found so far and its proven bound, when the
        engine tells them (``None`` otherwise).
    """

    step: str
    text: str
    objective: float | None = None
    bound: float | None = None


#: A function told each :class:`Progress` of a run (it must be quick and not raise).
ProgressCallback = Callable[[Progress], None]


def report_to(progress: ProgressCallback | None) -> Callable[[str, str], None]:
    """``say(step, text)``: tells ``progress`` (if any) a :class:`Progress`."""
    def say(step: str, text: str) -> None:
        if progress is not None:
            progress(Progress(step, text))
    return say
