"""How far a run is, on stderr: a bar on a terminal, a plain line now and then
elsewhere (:class:`Progress`)."""

from __future__ import annotations

import os
import time
from typing import Any, Callable, TextIO

from .common import PROG


class Progress:
    """How far a run is, on stderr.

    On a terminal: a bar (tqdm) with the files done, the rate, the time elapsed and
    the time left, drawn once the run has lasted ``delay`` seconds (short runs never
    show it), redrawn at most every ``refresh`` seconds, and cleared at the end.
    Elsewhere (a log file, CI): a plain line every ``every`` seconds, the first after
    ``every`` seconds. ``clock`` is injectable so that the plain lines can be tested
    without waiting.
    """

    FORMAT = "{n_fmt}/{total_fmt} files |{bar}| {percentage:3.0f}% [{elapsed} elapsed, {remaining} left, {rate_fmt}]"

    def __init__(
        self,
        total: int,
        stream: TextIO,
        *,
        delay: float = 0.5,
        every: float = 10.0,
        refresh: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ):
        isatty = getattr(stream, "isatty", None)
        self.terminal = bool(isatty and isatty())
        self.total = total
        self.stream = stream
        self.every = every
        self.clock = clock
        self.start = clock()
        self.next_line = self.start + every
        self.done = 0
        self.bar: Any = None
        if self.terminal and total > 1:
            from tqdm import tqdm

            # a terminal that says it is 0 x 0 (a pseudo-terminal without a size) gets 80 x 24
            width = {"dynamic_ncols": True} if _columns(stream) else {"ncols": 80, "nrows": 24}
            self.bar = tqdm(
                total=total,
                file=stream,
                delay=delay,
                unit=" files",
                bar_format=self.FORMAT,
                leave=False,
                smoothing=0.1,
                mininterval=refresh,
                miniters=1,
                **width,
            )

    def elapsed(self) -> float:
        return self.clock() - self.start

    def advance(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
            return
        if self.terminal or self.done >= self.total:
            return
        now = self.clock()
        if now >= self.next_line:
            self.next_line = now + self.every
            print(f"{PROG}: {self.line(now - self.start)}", file=self.stream, flush=True)

    def line(self, elapsed: float) -> str:
        """``120 of 5000 files (2%), 40.1 files/s, 0:03 elapsed, about 2:01 left``."""
        rate = self.done / elapsed if elapsed > 0 else 0.0
        text = f"{self.done} of {self.total} files ({100 * self.done // max(self.total, 1)}%)"
        if rate > 0:
            left = (self.total - self.done) / rate
            text += f", {rate:.1f} files/s, {duration(elapsed)} elapsed, about {duration(left)} left"
        return text

    def message(self, text: str) -> None:
        """Print a line without breaking the bar."""
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream)

    def clear(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _columns(stream: TextIO) -> int:
    """The width of the terminal ``stream`` writes to (0 when it does not say)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 0


def duration(seconds: float) -> str:
    """``0.4 s``, ``12.0 s``, ``3:07`` or ``1:02:03``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    from tqdm import tqdm

    return tqdm.format_interval(seconds)
