"""Progress of long steps, reported through a callback that knows nothing of terminals.

A step that takes long calls ``progress(done, total, what)``: ``done`` of ``total`` units are
finished and ``what`` names the one under way (``"writing table orders"``); ``what`` may be
omitted by steps whose units are all alike (chunks, fits). The command line turns the calls
into a progress bar on a terminal and into periodic log lines otherwise
(:class:`forecast.cli.common.Progress`); library callers pass nothing and nothing is reported.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressCallback = Callable[..., None]  # (done: int, total: int, what: str = "") -> None


class Steps:
    """Named steps of a known number, each announced to a progress callback as it starts.

    ``steps.start("reading orders.csv")`` reports the steps finished so far and the one that
    starts now; :meth:`finish` reports all of them done.
    """

    def __init__(self, total: int, progress: ProgressCallback | None = None):
        self.total = max(int(total), 1)
        self.done = 0
        self._progress = progress
        self._started = False

    def start(self, what: str) -> None:
        """Begin the next step: the previous one (if any) counts as done."""
        if self._started:
            self.done = min(self.done + 1, self.total)
        self._started = True
        if self._progress is not None:
            self._progress(self.done, self.total, what)

    def finish(self, what: str = "done") -> None:
        """Every step is done."""
        self.done, self._started = self.total, False
        if self._progress is not None:
            self._progress(self.total, self.total, what)


__all__ = ["ProgressCallback", "Steps"]
