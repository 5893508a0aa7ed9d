"""De-identifying spooled objects: the same per-file engine as ``deidc run``.

Each received object is one :class:`deidlang.engine.Task` for a
:class:`deidlang.engine.Worker` of its route's pipeline (compiled recipes,
keys bound, the node's options, its lookup tables and their missing-row
policy), so the bytes it writes are the bytes ``deidc run`` writes for the
same file, key, tables and recipe. With ``--jobs 1`` a
thread does it; with more, a pool of worker processes that get the compiled
pipelines once (``forkserver``: the node has threads, which must not be
forked).

The pipeline thread submits objects in arrival order (at most a few per
worker in flight) and takes their results in the same order, so that each
destination's outbox fills in arrival order. For each result it appends the
linkage rows (``--linkage``), then the manifest record, then hands the output
to the outboxes of the route's destinations (or to the quarantine, with the
reason: a recipe failure, a missing table row under ``--on-missing fail`` or
``quarantine``) and removes the received original, in that order
(:meth:`Spool.hand_over`).

A worker process that dies (a crash in a codec) is replaced; an object that
was in flight when workers died three times is quarantined. A full spool
(the output cannot be written) leaves the object in ``incoming/`` and is
retried after a pause.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Sequence

import attrs

from .. import engine as batch
from ..dicomio.atomic import remove_quietly
from ..tables import runs as tables_runs
from ..tables.record import key_uses
from .config import NodeConfig, Route
from .metrics import EventLog, Metrics
from .spool import Entry, Spool

__all__ = ["Processor", "RouteWorkers", "Job"]

#: Tries (worker processes dying while an object was in flight) before it is quarantined.
MAX_CRASHES = 3
#: Pause after the spool could not take an output (disk full) before trying again.
FULL_PAUSE = 2.0


@attrs.frozen
class Job:
    """One object for a worker (small and picklable)."""

    seq: int
    source: str
    calling_ae: str
    target: str
    quarantine: str | None
    base: str


@attrs.frozen
class Outcome:
    result: batch.FileResult
    route: str | None


class RouteWorkers:
    """In a worker: picks the route of an object and runs its pipeline's :class:`batch.Worker`."""

    def __init__(self, routes: Sequence[Route], route_pipeline: dict, pipelines: Sequence[Sequence], options: batch.Options):
        self.routes = tuple(routes)
        self.route_pipeline = dict(route_pipeline)
        self.workers = [batch.Worker(programs, None, options) for programs in pipelines]
        self.reads_header = any(r.reads_header for r in self.routes)
        if options.tables is not None:  # the key indexes, built once per worker before the node listens
            options.tables.prepare(key_uses(p for programs in pipelines for p in programs))

    def route_for(self, job: Job) -> Route | None:
        modality = sop_class = None
        if self.reads_header:
            modality, sop_class = _header(job.source)
        return next((r for r in self.routes if r.matches(job.calling_ae, modality, sop_class)), None)

    def process(self, job: Job) -> Outcome:
        display = f"object {job.seq:020d}"
        route = self.route_for(job)
        if route is None:
            reason = f"no route takes objects from calling AE '{job.calling_ae}' with this Modality and SOP Class"
            return Outcome(batch.FileResult(display, "failed", reason, relative=_name(job.source)), None)
        task = batch.Task(job.source, job.target, display, quarantine=job.quarantine, relative=_name(job.source), base=job.base)
        return Outcome(self.workers[self.route_pipeline[route.name]](task), route.name)


def _name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _header(path: str) -> tuple[str | None, str | None]:
    """Modality and SOP Class UID, for routing (None when they cannot be read)."""
    import pydicom

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["Modality", "SOPClassUID"])
        modality = ds.get("Modality")
        sop_class = ds.get("SOPClassUID") or ds.file_meta.get("MediaStorageSOPClassUID")
        return (str(modality) if modality else None), (str(sop_class) if sop_class else None)
    except Exception:  # noqa: BLE001 - the worker reports unreadable objects itself
        return None, None


_WORKERS: RouteWorkers | None = None


def _init_process(routes, route_pipeline, pipelines, options) -> None:
    global _WORKERS
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the node's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()
    _WORKERS = RouteWorkers(routes, route_pipeline, pipelines, options)


def _die_with_parent() -> None:
    """A worker must not outlive a node killed with SIGKILL (Linux: PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def _ready(pause: float) -> int:
    """A warm-up task: it holds its worker long enough for the pool to start the others."""
    time.sleep(pause)
    return os.getpid()


def _process_in_worker(job: Job) -> Outcome:
    assert _WORKERS is not None, "worker not initialised"
    return _WORKERS.process(job)


class Processor:
    """The pipeline thread and its workers."""

    def __init__(
        self,
        config: NodeConfig,
        pipelines: Sequence[Sequence],
        route_pipeline: dict,
        spool: Spool,
        manifest: batch.Manifest | None,
        metrics: Metrics,
        log: EventLog,
        on_handed: Callable[[str, int, str], None],
        *,
        tables: Any = None,
        linkage: tables_runs.Linkage | None = None,
    ):
        self.config = config
        self.spool = spool
        self.manifest = manifest
        self.metrics = metrics
        self.log = log
        self.on_handed = on_handed
        self.linkage = linkage  # the open linkage file (--linkage), written by the pipeline thread only
        self.options = batch.Options(
            overwrite=True,  # a redone object (after an interruption) replaces its own output
            remove_private=config.remove_private,
            clean_pixels=config.clean_pixels,
            quarantine=config.quarantine,
            output=spool.work,
            durable=True,  # on the disk before the original is removed
            tables=tables,  # read once by the node, shared by its workers (deidlang/tables)
            linkage=linkage is not None,
        )
        self._args = (config.effective_routes(), route_pipeline, [list(p) for p in pipelines], self.options)
        self._queue: collections.deque[Entry] = collections.deque()
        self._crashes: dict[int, int] = {}
        self._cond = threading.Condition()
        self._stopping = False
        self._executor: Any = None  # a thread pool (--jobs 1) or a process pool, once started
        self._thread: threading.Thread | None = None
        self.window = max(2, config.jobs * 4)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._executor = self._new_executor()
        self._warm_up()
        self._thread = threading.Thread(target=self._loop, name="deidc-serve-pipeline", daemon=True)
        self._thread.start()

    def _new_executor(self):
        if self.config.jobs <= 1:
            workers = RouteWorkers(*self._args)
            executor = ThreadPoolExecutor(1, thread_name_prefix="deidc-serve-worker")
            executor.process = workers.process  # type: ignore[attr-defined]
            return executor
        context = multiprocessing.get_context("forkserver")
        return ProcessPoolExecutor(self.config.jobs, mp_context=context, initializer=_init_process, initargs=self._args)

    def _warm_up(self) -> None:
        """Start every worker process (and load the recipes in it) before the node listens:
        started on demand, the first objects would wait seconds for them."""
        if isinstance(self._executor, ProcessPoolExecutor):
            ready = [self._executor.submit(_ready, 0.2) for _ in range(self.config.jobs)]
            for future in ready:
                future.result(timeout=300)

    def _submit(self, job: Job) -> Future:
        executor = self._executor
        if isinstance(executor, ThreadPoolExecutor):
            return executor.submit(executor.process, job)  # type: ignore[attr-defined]  # the in-process executor carries its Worker
        return executor.submit(_process_in_worker, job)

    def add(self, entry: Entry) -> None:
        with self._cond:
            self._queue.append(entry)
            self._cond.notify()
        self.metrics.queue("deidentify", 1)

    def stop(self, timeout: float = 60.0) -> None:
        """Finish the objects in flight (their results are handed over), start no more."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    # ------------------------------------------------------------------ the loop
    def _job(self, entry: Entry) -> Job:
        holds = self.config.quarantine or tables_runs.quarantines(self.options)  # %filter groups, or --on-missing quarantine
        quarantine = self.spool.quarantine_target(entry) if holds else None
        return Job(entry.seq, entry.path, entry.calling_ae, self.spool.work_target(entry), quarantine, self.spool.root)

    def _loop(self) -> None:
        inflight: collections.deque[tuple[Entry, Future, float]] = collections.deque()
        while True:
            with self._cond:
                while not self._stopping and len(inflight) < self.window and self._queue:
                    entry = self._queue.popleft()
                    inflight.append((entry, self._submit(self._job(entry)), time.monotonic()))
                if not inflight:
                    if self._stopping:
                        return
                    self._cond.wait(0.5)
                    continue
            entry, future, started = inflight[0]
            try:
                outcome = future.result(timeout=0.2)
            except FutureTimeout:
                continue
            except BrokenProcessPool:
                self._recover(inflight)
                continue
            except OSError as err:  # the spool is full or read-only: the object stays in incoming/
                inflight.popleft()
                self.log.write("deidentify-paused", object=entry.name, reason="the spool cannot take the output", errno=getattr(err, "errno", None))
                self._requeue([entry])
                time.sleep(FULL_PAUSE)
                continue
            except Exception as err:  # noqa: BLE001 - never lose an object: quarantine it with the reason
                inflight.popleft()
                outcome = Outcome(
                    batch.FileResult(
                        f"object {entry.name}", "failed", f"internal error while de-identifying ({type(err).__name__}); this is a bug in deidlang"
                    ),
                    None,
                )
            else:
                inflight.popleft()
            ready = [(entry, outcome, started)]
            while inflight and inflight[0][1].done() and inflight[0][1].exception() is None:
                e, f, s = inflight.popleft()
                ready.append((e, f.result(), s))
            self._finish(ready)

    def _requeue(self, entries: list[Entry]) -> None:
        with self._cond:
            self._queue.extendleft(reversed(entries))

    def _recover(self, inflight) -> None:
        """Worker processes died: replace them; quarantine objects that were in flight too often."""
        entries = [e for e, _f, _s in inflight]
        inflight.clear()
        self.log.write("workers-restarted", in_flight=len(entries))
        try:
            self._executor.shutdown(wait=False, cancel_futures=True)
        except Exception:  # noqa: BLE001
            pass
        self._executor = self._new_executor()
        again = []
        for entry in entries:
            self._crashes[entry.seq] = self._crashes.get(entry.seq, 0) + 1
            if self._crashes[entry.seq] >= MAX_CRASHES:
                result = batch.FileResult(f"object {entry.name}", "failed", "a worker process died while de-identifying it, three times")
                self._finish([(entry, Outcome(result, None), time.monotonic())])
            else:
                again.append(entry)
        self._requeue(again)

    def _finish(self, ready: list[tuple[Entry, Outcome, float]]) -> None:
        """Record, then hand over (or quarantine), then log: in this order. When the spool
        cannot take a step (disk full, read-only), the objects it could not place stay in
        ``incoming/`` and are done again after a pause (their outputs are redone)."""
        try:
            before = self.linkage.conflicts if self.linkage is not None else {}
            tables_runs.write_linkage(self.linkage, [o.result for _e, o, _s in ready])  # before the records, as deidc run
            after = self.linkage.conflicts if self.linkage is not None else {}
            new = {kind: n - before.get(kind, 0) for kind, n in after.items() if n != before.get(kind, 0)}
            if new:  # kinds and counts, never values
                self.log.write("linkage-conflict", originals=sum(new.values()), kinds=new)
            if self.manifest is not None:
                self.manifest.record_many([o.result for _e, o, _s in ready])
            handover = [
                (entry, o.result.tmp, self.config.route_destinations(self.config.route_for_name(o.route)))
                for entry, o, _s in ready
                if o.result.status == "written"
            ]
            handed = self.spool.hand_over(handover) if handover else []
        except OSError as err:
            self._pause([entry for entry, _o, _s in ready], [o for _e, o, _s in ready], err)
            return
        again: list[Entry] = []
        for entry, outcome, started in ready:
            result = outcome.result
            fields = dict(
                object=entry.name,
                route=outcome.route,
                status=result.status,
                removed=result.removed,
                changed=result.changed,
                added=result.added,
                bytes=result.output_size if result.output_size >= 0 else None,
                ms=round((time.monotonic() - started) * 1000, 2),
            )
            if result.fallbacks:  # --on-missing hash: table and key element names are in the manifest
                fields["fallbacks"] = len(result.fallbacks)
            if result.status != "written":
                reason: dict[str, Any] = {
                    "status": result.status,
                    "reason": result.reason or (f"flagged by the %filter group '{result.verdict}'" if result.verdict else result.note),
                    "verdict": result.verdict,
                    "matches": [[g, label, list(c)] for g, label, c in result.matches],
                }
                try:
                    self.spool.hold(entry, reason, output_tmp=result.tmp or None)
                except OSError as err:
                    self._pause([entry], [outcome], err, requeue=again)
                    continue
                fields.update(reason=reason["reason"], status="quarantined")
            self.metrics.queue("deidentify", -1)
            self.metrics.add("deidentified" if result.status == "written" else "quarantined")
            self._crashes.pop(entry.seq, None)
            self.log.write("deidentified" if result.status == "written" else "quarantined", **fields)
        for destination, seq, path in handed:
            self.on_handed(destination, seq, path)
        if again:
            self._requeue(again)
            time.sleep(FULL_PAUSE)

    def _pause(self, entries: list[Entry], outcomes: list[Outcome], err: OSError, requeue: list | None = None) -> None:
        """The spool cannot take these results: drop their outputs, keep the objects for later."""
        for outcome in outcomes:
            if outcome.result.tmp:
                remove_quietly(outcome.result.tmp)
        kept = [entry for entry in entries if os.path.exists(entry.path)]
        self.log.write("deidentify-paused", objects=len(kept), reason="the spool cannot take the results", errno=getattr(err, "errno", None))
        if requeue is not None:
            requeue.extend(kept)
            return
        self._requeue(kept)
        time.sleep(FULL_PAUSE)
