"""A job's bandwidth cap (``StagingService.max_bytes_per_second``), like rsync's ``--bwlimit``.

Shared storage at an observatory is shared with the instruments and the pipelines: an operator
can cap how fast one job reads it. The cap is over the whole job (all of its files in flight),
kept by the copying threads themselves: after each chunk a thread that is ahead of the budget
waits until the job's average is back at the cap. Time spent idle (opening a remote file,
a slow directory) earns at most ``burst`` seconds of credit. Waiting ends at once on shutdown
or cancel (the caller's ``wait``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Throttle:
    """Keep ``bytes / elapsed`` at or under ``rate`` (bytes per second); 0 means no cap."""

    def __init__(self, rate: float, wait: Callable[[float], object], burst: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self._wait, self._clock = rate, burst, wait, clock
        self._lock = threading.Lock()
        self._start: float | None = None
        self._sent = 0

    def sent(self, n: int) -> None:
        """Account ``n`` bytes just copied and wait, if needed, to stay under the cap."""
        if self.rate <= 0 or n <= 0:
            return
        with self._lock:
            now = self._clock()
            if self._start is None:
                self._start = now
            earliest = now - self.burst - self._sent / self.rate
            self._start = max(self._start, earliest)  # idle time earns a bounded credit
            self._sent += n
            due = self._start + self._sent / self.rate
        if due > now:
            self._wait(due - now)
