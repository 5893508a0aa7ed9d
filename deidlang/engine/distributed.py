"""Running a batch on a Dask cluster (``deidc run --scheduler ADDRESS``).

Needs the optional extra ``dask`` (``dask[distributed]``): ``pip install '.[dask]'`` in a deidlang checkout.

``ADDRESS`` is a scheduler (``tcp://HOST:8786``) or ``local:N``, a
:class:`distributed.LocalCluster` of N single-threaded worker processes on
this machine. The job is the same as a local run (:mod:`deidlang.engine`):

* the compiled Programs, the options, the ids (as JSON text) and the
  functions file (its source) travel **once** per worker, in a worker
  plugin; each worker unpickles the Programs once, when the plugin is set up;
* the client plans the files (paths or fsspec URLs) and sends batches of
  small task records; workers read the inputs themselves, where they live,
  and write each output to a temporary name next to its target;
* results come back to the client in input order, with at most two batches
  per worker in flight; the client appends each file's record to the run
  manifest and renames the temporary file into place, exactly as a local
  run does, so outputs and manifest are the same;
* a batch whose worker dies is run again elsewhere by the scheduler; a
  batch that raises is retried (``RETRIES`` times); after that its files
  are reported as failed, by path, and the run goes on.

Outputs must go to a directory that the client and every worker see at the
same path (a shared filesystem).
"""

from __future__ import annotations

import json
import os
import pickle
import secrets
from concurrent.futures import Future
from typing import Any, Mapping

from ..version import install_hint
from .inputs import load_functions
from .job import BatchError, FileResult, Job, Task
from .outputs import remove_temporaries
from .pool import Executor
from .worker import Worker

try:  # the worker plugin must be a module-level class (it is pickled to the workers)
    from distributed import WorkerPlugin as _PluginBase
except ImportError:  # pragma: no cover - without the extra, require() explains what to install
    _PluginBase = object  # type: ignore[assignment,misc]

__all__ = ["require", "executor", "parse_address", "RETRIES", "ADDRESS_FORMS"]

EXTRA_HINT = install_hint("dask")

#: How often a batch that raised is run again before its files are reported as failed.
RETRIES = 2

#: Per worker process: run id -> the Worker built from the plugin's payload.
_STATE: dict[str, Worker] = {}


#: What ``--scheduler`` accepts, as error messages say it.
ADDRESS_FORMS = (
    "local:N (a cluster of N worker processes on this machine) or the address of a running "
    "scheduler, tcp://HOST:PORT (Dask's default port is 8786; tls://, ws://, wss:// and ucx:// work too)"
)
#: Dask's network schemes whose addresses are HOST:PORT.
_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")


def parse_address(address: str) -> tuple[str, Any]:
    """``("local", N)`` for ``local:N``, else ``("remote", address)`` for a scheduler
    address (``tcp://HOST:PORT``; a bare ``HOST:PORT`` is TCP, as in Dask). Raises
    :class:`~deidlang.engine.BatchError` giving the accepted forms."""

    def wrong(why: str) -> BatchError:
        return BatchError(f"--scheduler '{address}': {why}; expected {ADDRESS_FORMS}")

    if address.startswith("local:"):
        count = address[len("local:") :]
        if not count.isdigit():
            raise wrong("expected local:N with N a whole number")
        if int(count) < 1:
            raise wrong("expected at least one worker")
        return "local", int(count)
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme not in _SCHEMES:
        raise wrong(f"unknown scheme '{scheme}://'")
    host, colon, port = rest.rpartition(":")
    if not colon or not host or "/" in rest:
        raise wrong("not an address")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise wrong(f"the port '{port}' is not a number from 1 to 65535")
    return "remote", address if sep else f"tcp://{address}"


def require() -> None:
    """Raise :class:`~deidlang.engine.BatchError` naming the extra when Dask is missing."""
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as err:
        raise BatchError(f"--scheduler needs Dask's distributed scheduler ({err.name or 'dask'} is not installed): {EXTRA_HINT}") from None


class _Plugin(_PluginBase):
    """Carries one run's Programs (pickled once, by the client), options, ids and
    functions to every worker, and builds that worker's :class:`Worker` once."""

    idempotent = False

    def __init__(self, run_id: str, payload: bytes, ids_json: str | None, functions: tuple[str, str] | None, funcs: Any):
        self.run_id = run_id
        self.payload = payload
        self.ids_json = ids_json
        self.functions = functions
        self.funcs = funcs

    def setup(self, worker=None) -> None:
        programs, options = pickle.loads(self.payload)  # the compiled recipe, from our own client
        index = json.loads(self.ids_json) if self.ids_json is not None else None
        funcs = self.funcs
        if self.functions is not None:
            path, text = self.functions
            funcs = load_functions(path, text)
        _STATE[self.run_id] = Worker(programs, funcs, options, index)

    def teardown(self, worker=None) -> None:
        _STATE.pop(self.run_id, None)


def _run_batch(run_id: str, tasks: list[Task]) -> list[FileResult]:
    """The task function: one batch on one worker (the plugin set the worker up)."""
    from .pool import files_to_write, test_hook

    worker = _STATE.get(run_id)
    if worker is None:
        raise RuntimeError("the deidlang worker plugin is not set up on this worker")
    test_hook(files_to_write(tasks))
    poison = os.environ.get("DEIDLANG_TEST_FAIL_BATCH")  # tests only: a batch that always raises
    if poison and any(poison in t.display for t in tasks):
        raise RuntimeError("test batch failure")
    return worker.batch(tasks)


class _Lost:
    """A finished batch whose task failed on the cluster: its files, failed by path."""

    def __init__(self, future, tasks: list[Task]):
        self.future = future
        self.tasks = tasks

    def result(self) -> list[FileResult]:
        try:
            return self.future.result()
        except Exception as err:  # noqa: BLE001 - a worker died too often, or the batch kept raising
            reason = f"lost on the Dask cluster after retries ({type(err).__name__}); not written"
            return [FileResult(t.display, "failed", reason, root=t.root, relative=t.relative) for t in self.tasks]


class DaskExecutor(Executor):
    """Submits batches to a Dask cluster; results are read back in submission order."""

    def __init__(self, job: Job, index: Mapping[str, Any] | None):
        require()
        from distributed import Client, LocalCluster

        self.output = job.options.output or job.output
        self.cluster = None
        address = job.scheduler or ""
        kind, where = parse_address(address)
        if kind == "local":
            n = where
            import logging

            self.cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=":0",
                silence_logs=logging.ERROR,
            )
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(where, timeout="30s")
            except Exception as err:  # noqa: BLE001 - unreachable, refused, bad address
                raise BatchError(
                    f"cannot reach the Dask scheduler '{address}' ({type(err).__name__}): is it running, and is the address right? expected {ADDRESS_FORMS}"
                ) from None
        try:
            self.run_id = "deidlang-" + secrets.token_hex(8)
            functions = None
            funcs = None
            if job.functions_path:
                with open(job.functions_path, encoding="utf-8") as fh:
                    functions = (job.functions_path, fh.read())
            elif job.funcs:
                funcs = dict(job.funcs)  # callables from Python: Dask's pickling sends them
            ids_json = json.dumps(index) if index is not None else None
            payload = pickle.dumps((list(job.programs), job.options), protocol=pickle.HIGHEST_PROTOCOL)
            self.client.register_plugin(_Plugin(self.run_id, payload, ids_json, functions, funcs), name=self.run_id)
            self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))
        except BaseException:
            self.close()
            raise

    @property
    def window(self) -> int:
        return self.workers * 2

    def submit(self, tasks: list[Task]) -> Future:
        future = self.client.submit(_run_batch, self.run_id, tasks, pure=False, retries=RETRIES)
        return _Lost(future, tasks)  # type: ignore[return-value]

    def close(self, *, cancel: bool = False) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            try:
                if getattr(self, "run_id", None):
                    client.unregister_worker_plugin(self.run_id)
            except Exception:  # noqa: BLE001 - the cluster may be gone; nothing to undo then
                pass
            client.close()
        if self.cluster is not None:
            self.cluster.close()
        # A worker that died mid-batch leaves its temporary files; the batch ran again elsewhere.
        remove_temporaries(self.output)


def executor(job: Job, index: Mapping[str, Any] | None) -> DaskExecutor:
    return DaskExecutor(job, index)
