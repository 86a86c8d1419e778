"""Worker processes that copy batches of small local files (``c.CopyWorkers.*``).

Copying a small file is a few system calls and a little Python. Threads of one process take
turns on the GIL around every one of those calls, so on this work two threads copy hardly
faster than one: 10,000 files of 16 KiB on 2 CPUs took 1.5-1.8 s in one thread or two, and
0.85-1.1 s in two processes (``cp -r``: 0.7-1.1 s). A few worker processes, one per CPU by
default, each copy whole batches (``batch.copy_batch``) and answer per file; the job's own
threads keep everything else: the plan, the database, retries, cancelling between batches.

A worker is a fresh interpreter (``python -m jupyter_astro_ops.staging.batch``, which imports
only the copy code), started when a job first has enough small files and kept until
``stop``. Batches and answers are lines of JSON on its stdin and stdout; a worker holds up to
``DEPTH`` batches, so the next one is already in its pipe when it finishes one. A worker that
dies or answers wrongly is dropped and the batches it held answered ``None``: the job then
copies those files in its own threads, as it does when every worker is full.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from typing import IO, Any, cast

from traitlets import Int
from traitlets.config import LoggingConfigurable

from .batch import Batch, Result, encode

# batches on their way to one worker at once: while it copies one, the next waits in its pipe
# (with one, a worker sat idle from its answer until the job had sent the next batch)
DEPTH = 2


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class _Worker:
    """One worker process and its two pipes. Up to ``DEPTH`` batches may be on their way to it
    at once: each asker writes its batch, then reads its answer in the order the batches were
    written (answers come back in that order), so the next batch is already waiting in the
    pipe when the worker finishes one."""

    def __init__(self, nice: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_astro_ops.staging.batch", str(max(0, nice))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True)
        self.load = 0  # batches handed to it and not answered yet (the owner's lock guards it)
        self._send = threading.Lock()
        self._turn = threading.Condition()
        self._sent = self._read = 0
        self.broken = False

    def ask(self, batch: Batch) -> list[Result]:
        requests, answers = cast(IO[bytes], self.proc.stdin), cast(IO[bytes], self.proc.stdout)
        try:
            with self._send:
                ticket, self._sent = self._sent, self._sent + 1
                requests.write(encode(batch))
                requests.flush()
            with self._turn:
                while self._read != ticket and not self.broken:
                    self._turn.wait()
            if self.broken:
                raise EOFError("the worker failed on an earlier batch")
            line = answers.readline()
            if not line:
                raise EOFError("the worker exited")
            results = [(str(state), int(size), str(checksum))
                       for state, size, checksum in json.loads(line)]
        except BaseException:
            self.fail()
            raise
        with self._turn:
            self._read += 1
            self._turn.notify_all()
        return results

    def fail(self) -> None:
        """No answer will come in order any more: the askers after this one give up too."""
        with self._turn:
            self.broken = True
            self._turn.notify_all()

    def close(self, timeout: float = 5.0) -> None:
        """End the worker: EOF on its stdin ends its loop after the batches in hand."""
        with contextlib.suppress(OSError):
            cast(IO[bytes], self.proc.stdin).close()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(OSError):
            cast(IO[bytes], self.proc.stdout).close()


class CopyWorkers(LoggingConfigurable):
    """The worker processes of one server, shared by its jobs (at most ``processes``)."""

    processes = Int(-1, config=True, help=(
        "Worker processes that copy batches of small files from local roots. A small file "
        "costs system calls more than bytes, and the threads of one process cannot make "
        "those calls side by side; processes can. -1: one per CPU the server may use; 0: "
        "copy in the server's own threads."))
    min_files = Int(200, config=True, help=(
        "A job uses the worker processes when it has at least this many small files to "
        "copy; smaller jobs are copied in the server's threads, which start at once."))

    def __init__(self, nice: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.nice = nice
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []  # alive: started, not dropped or stopped
        self._closed = False

    @property
    def size(self) -> int:
        """How many workers may run at once."""
        return usable_cpus() if self.processes < 0 else self.processes

    @property
    def capacity(self) -> int:
        """How many batches the workers take at once (``DEPTH`` each)."""
        return self.size * DEPTH

    def wanted(self, small_files: int) -> bool:
        """Whether a job with ``small_files`` to copy should use the workers."""
        return self.size > 0 and small_files >= self.min_files

    def copy(self, batch: Batch) -> list[Result] | None:
        """The batch's results from a worker, or ``None`` when every worker already has
        ``DEPTH`` batches (or it failed): the caller then copies the batch itself."""
        worker = self._take()
        if worker is None:
            return None
        try:
            results = worker.ask(batch)
        except Exception as exc:  # a dead worker, a broken pipe, a garbled answer
            self.log.warning("staging: a copy worker failed (%s); copying in the server", exc)
            self._drop(worker)
            return None
        expected = sum(len(run.names) for run in batch.runs)
        if len(results) != expected:
            self.log.warning("staging: a copy worker answered %d results for %d files; "
                             "copying in the server", len(results), expected)
            self._drop(worker)
            return None
        self._give_back(worker)
        return results

    def _take(self) -> _Worker | None:
        """The least loaded worker: an idle one, else a new one while there may be more, else
        one with room in its pipe; ``None`` if there is none."""
        with self._lock:
            if self._closed:
                return None
            least = min(self._workers, key=lambda w: w.load, default=None)
            if least is None or (least.load > 0 and len(self._workers) < self.size):
                try:
                    self._workers.append(_Worker(self.nice))
                    least = self._workers[-1]
                except OSError as exc:  # the running ones (if any) may still have room
                    self.log.warning("staging: cannot start a copy worker: %s", exc)
            if least is None or least.load >= DEPTH:
                return None
            least.load += 1
            return least

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            worker.load -= 1
            if not self._closed or worker.load or worker not in self._workers:
                return
            self._workers.remove(worker)
        worker.close()

    def _drop(self, worker: _Worker) -> None:
        worker.fail()
        with self._lock:
            worker.load -= 1
            if worker in self._workers:
                self._workers.remove(worker)
        worker.proc.kill()
        worker.close()

    def stop(self) -> None:
        """End the idle workers now, and each busy one when its last batch comes back."""
        with self._lock:
            self._closed = True
            idle = [w for w in self._workers if not w.load]
            self._workers = [w for w in self._workers if w.load]
        for worker in idle:
            worker.close()

    def restart(self) -> None:
        """Allow workers again after ``stop`` (a runner started again)."""
        with self._lock:
            self._closed = False
