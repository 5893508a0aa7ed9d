"""Local workers: an :class:`Executor` runs batches of tasks and returns their results in
submission order -- :class:`InProcess` in this process, :class:`Pool` in worker processes
that receive the compiled recipes once, through the pool initializer, and then only
batches of small tasks; :func:`ordered` keeps at most a few batches per worker in
flight, so memory does not grow with the number of files."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Callable, Iterable, Iterator, Mapping, Sequence

from .inputs import load_functions
from .job import FileResult, Job, Options, Task
from .worker import Worker

# Pool workers get the compiled recipes once, through the initializer, and
# then only batches of small tasks. Forked workers inherit the user's
# functions; under spawn/forkserver the functions file is executed again in
# each worker (callables from a file loaded by path cannot be pickled by reference).
_POOL_WORKER: Worker | None = None


def _init_pool_worker(
    programs: list,
    funcs: Mapping[str, Callable] | None,
    functions_path: str | None,
    options: Options,
    ids_index=None,
    parent: int | None = None,
) -> None:
    global _POOL_WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _die_with_parent(parent)
    if funcs is None and functions_path:
        funcs = load_functions(functions_path)
    _POOL_WORKER = Worker(programs, funcs, options, ids_index)


def _die_with_parent(parent: int | None) -> None:
    """A pool worker must not outlive its run: after a ``kill -9`` of deidc it would wait
    for work forever, keeping the output folder's lock (and writing temporary files that
    no run removes). Linux: the kernel kills it when the parent dies."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no libc
            pass
    if parent is not None and os.getppid() != parent:
        os._exit(1)  # the run died before this worker started


def _pool_batch(tasks: list[Task]) -> list[FileResult]:
    assert _POOL_WORKER is not None, "pool worker was not initialised"
    test_hook(files_to_write(tasks))
    return _POOL_WORKER.batch(tasks)


def files_to_write(tasks: Sequence[Task]) -> int:
    """The tasks of a batch that process a file (not a name scan's)."""
    return sum(not t.scan for t in tasks)


def test_hook(n: int) -> None:
    """Test-only seams (never set them in production): ``DEIDLANG_TEST_SLOW_SECONDS``
    pauses each batch that long per file, so that a test can kill a worker while
    batches are in flight; ``DEIDLANG_TEST_KILL_AFTER=N`` makes the run kill itself
    (SIGKILL) once N files are done, to test resuming."""
    delay = os.environ.get("DEIDLANG_TEST_SLOW_SECONDS")
    if delay:
        time.sleep(float(delay) * n)


def default_jobs() -> int:
    counter = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if counter is not None:
        return counter() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def batch_size(total: int, workers: int) -> int:
    """Files per batch: a few batches per worker (so the last ones finish together),
    at most 64 files (so results stream and a lost batch costs little)."""
    return max(1, min(64, total // (max(workers, 1) * 4)))


class Executor:
    """Runs batches of tasks and returns their results in submission order."""

    def submit(self, tasks: list[Task]) -> Future:  # pragma: no cover - interface
        raise NotImplementedError

    @property
    def window(self) -> int:
        return 1

    def close(self, *, cancel: bool = False) -> None:
        pass


class InProcess(Executor):
    def __init__(self, worker: Worker):
        self.worker = worker

    def submit(self, tasks: list[Task]) -> Future:
        future: Future = Future()
        test_hook(files_to_write(tasks))
        future.set_result(self.worker.batch(tasks))
        return future


class Pool(Executor):
    def __init__(self, job: Job, workers: int, ids_index):
        context = multiprocessing.get_context(job.start_method)
        forked = context.get_start_method() == "fork"
        initargs = (
            list(job.programs),
            job.funcs if forked else None,
            None if forked else job.functions_path,
            job.options,
            ids_index,
            os.getpid(),
        )
        self.workers = workers
        self.pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_pool_worker, initargs=initargs)

    @property
    def window(self) -> int:
        return self.workers * 2

    def submit(self, tasks: list[Task]) -> Future:
        return self.pool.submit(_pool_batch, tasks)

    def close(self, *, cancel: bool = False) -> None:
        # On Ctrl-C (or when the caller stops reading): let the workers finish the
        # files they are writing (to temporary names), start nothing new.
        self.pool.shutdown(wait=True, cancel_futures=cancel)


def _batched(items: Iterable, size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def ordered(executor: Executor, items: Iterable, size: int) -> Iterator[list[FileResult]]:
    """Results for ``items`` (tasks, or results decided without a worker) in order, one
    list per batch, with at most ``executor.window`` batches in flight."""
    inflight: deque[tuple[list, Future | None]] = deque()

    def drain_one() -> list[FileResult]:
        chunk, future = inflight.popleft()
        done = iter(future.result()) if future is not None else iter(())
        return [next(done) if isinstance(item, Task) else item for item in chunk]

    for chunk in _batched(items, size):
        tasks = [item for item in chunk if isinstance(item, Task)]
        inflight.append((chunk, executor.submit(tasks) if tasks else None))
        while len(inflight) > executor.window:
            yield drain_one()
    while inflight:
        yield drain_one()
