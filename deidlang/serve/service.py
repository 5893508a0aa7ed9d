"""The node: start-up (with recovery of the spool), running, shutdown.

Start-up order: the spool is opened (temporary files of an interrupted node
removed), the manifest is opened (its lock makes sure one node uses a spool
at a time), the linkage file (``--linkage``) is opened, the destinations' queues are filled from their outboxes, the
workers get the objects still in ``incoming/``, and only then does the node
listen. Shutdown (SIGTERM, SIGINT) is the reverse: stop listening, let the
associations in progress finish (up to a grace period), finish the objects
the workers hold, let each destination finish the object it is sending, close
the linkage file and the manifest. What is still waiting stays in the spool for the
next start.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, TextIO

from .. import engine as batch
from ..lang.diagnostics import DeidlangError
from ..tables import runs as tables_runs
from .config import NodeConfig
from .forwarders import Forwarder, make_forwarder
from .metrics import EventLog, Metrics, serve_metrics
from .processing import Processor
from .recipes import Compiled
from .spool import Spool

__all__ = ["Node", "NodeError"]


class NodeError(Exception):
    """The node cannot start (the spool is in use or cannot be written, the port is taken)."""


class Node:
    def __init__(self, config: NodeConfig, compiled: Compiled, *, log: TextIO | None = None):
        self.config = config
        self.compiled = compiled
        self.metrics = Metrics()
        self.log = EventLog(log or sys.stderr)
        self.spool = Spool(config.spool)
        self.manifest: batch.Manifest | None = None
        self.linkage: tables_runs.Linkage | None = None
        self.forwarders: dict[str, Forwarder] = {}
        self.processor: Processor | None = None
        self.receiver: Any = None  # the Receiver, once listening
        self.port = 0
        self._metrics_server = None
        self._started = 0.0

    # ------------------------------------------------------------------ start
    def start(self) -> int:
        """Recover the spool, start the workers and the destinations, then listen. Returns the port."""
        from .receiver import Receiver

        config = self.config
        names = [d.name for d in config.destinations]
        self.manifest = batch.Manifest(self.spool.root, self._manifest_header(), durable=False)
        try:  # the manifest's lock first: one node per spool (the next step removes half-done files)
            os.makedirs(self.spool.root, exist_ok=True)
            self.manifest.open()
        except batch.BatchError as err:
            self.manifest = None
            raise NodeError(str(err).replace("another run is writing to", "another node uses the spool")) from None
        except OSError as err:
            self.manifest = None
            raise NodeError(f"cannot write the manifest in the spool '{config.spool}': {err.strerror or type(err).__name__}") from None
        self.manifest.previous.clear()  # a node never resumes by manifest: its spool says what is left
        try:
            self.linkage = tables_runs.open_linkage(config.linkage, self.spool.root, durable=True)
        except DeidlangError as err:
            self.stop(grace=0)
            raise NodeError(str(err)) from None
        try:
            self.spool.open(names)
        except OSError as err:
            raise NodeError(f"cannot use the spool '{config.spool}': {err.strerror or type(err).__name__}") from None
        for dest in config.destinations:
            forwarder = make_forwarder(dest, self.spool, config, self.metrics, self.log)
            for seq, path in self.spool.waiting(dest.name):
                forwarder.add(seq, path)
            self.forwarders[dest.name] = forwarder
        for orphan in sorted(set(self.spool.outboxes()) - set(names)):
            waiting = len(self.spool.waiting(orphan))
            if waiting:
                self.log.write("orphan-outbox", destination=orphan, waiting=waiting, reason="objects wait for a destination the settings no longer name")
        self.processor = Processor(
            config,
            [p.programs for p in self.compiled.pipelines],
            self.compiled.route_pipeline,
            self.spool,
            self.manifest,
            self.metrics,
            self.log,
            self._handed,
            tables=self.compiled.tables,
            linkage=self.linkage,
        )
        pending = self.spool.pending()
        for entry in pending:
            self.processor.add(entry)
        self.processor.start()
        for forwarder in self.forwarders.values():
            forwarder.start()
        self.receiver = Receiver(config, self.spool, self.metrics, self.log, self.processor.add)
        try:
            self.port = self.receiver.start()
        except OSError as err:
            self.stop(grace=0)
            raise NodeError(f"cannot listen on {config.host}:{config.port}: {err.strerror or type(err).__name__}") from None
        if config.metrics is not None:
            try:
                self._metrics_server = serve_metrics(self.metrics, *config.metrics)
            except OSError as err:
                self.stop(grace=0)
                raise NodeError(f"cannot serve /metrics on {config.metrics[0]}:{config.metrics[1]}: {err.strerror or type(err).__name__}") from None
        self._started = time.monotonic()
        self.log.write(
            "started",
            ae_title=config.ae_title,
            host=config.host,
            port=self.port,
            spool=self.spool.root,
            jobs=config.jobs,
            destinations=[d.name for d in config.destinations],
            routes=[r.name for r in config.effective_routes()],
            recovered_incoming=len(pending),
            recovered_outbox={n: len(f) for n, f in self.forwarders.items()},
            tls=config.tls is not None,
            tables=sorted(self.compiled.tables or ()),
            on_missing=config.on_missing if self.compiled.tables else None,
            linkage=self.linkage is not None,
            pid=os.getpid(),
        )
        return self.port

    def _handed(self, destination: str, seq: int, path: str) -> None:
        forwarder = self.forwarders.get(destination)
        if forwarder is not None:
            forwarder.add(seq, path)

    def _manifest_header(self) -> dict:
        programs = tuple(p for pipeline in self.compiled.pipelines for p in pipeline.programs)
        refs: list[Any] = []
        for pipeline in self.compiled.pipelines:
            refs.extend(batch.recipe_ref(path, pipeline.texts[path]) for path in pipeline.recipes if path in pipeline.texts)
        options = batch.Options(
            overwrite=True,
            remove_private=self.config.remove_private,
            clean_pixels=self.config.clean_pixels,
            quarantine=self.config.quarantine,
            durable=True,
            tables=self.compiled.tables,  # names, kinds, SHA-256 and the policy: never a cell
            linkage=bool(self.config.linkage),
        )
        job = batch.Job(programs=programs, output=self.spool.root, recipes=tuple(refs), options=options)
        header = batch.manifest_header(job, [], f"deidc serve, {self.config.jobs} worker{'s' if self.config.jobs > 1 else ''}")
        header["inputs"] = [f"DICOM C-STORE to {self.config.ae_title} on port {self.config.port}"]
        header["node"] = {
            "routes": [r.name for r in self.config.effective_routes()],
            "destinations": {d.name: d.kind for d in self.config.destinations},
        }
        return header

    # ------------------------------------------------------------------ running
    def status(self) -> dict:
        snap = self.metrics.snapshot()
        snap["associations_active"] = self.receiver.active() if self.receiver is not None else 0
        snap["uptime_seconds"] = round(time.monotonic() - self._started, 1) if self._started else 0
        return snap

    def idle(self) -> bool:
        """Nothing waits: every received object is delivered, quarantined or set aside."""
        queues = self.metrics.snapshot()["queues"]
        return not any(queues.values()) and self.spool.is_empty()

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.1)
        return self.idle()

    # ------------------------------------------------------------------ stop
    def stop(self, grace: float = 30.0) -> None:
        """Stop listening, let associations finish (up to ``grace`` seconds), finish the
        objects in the workers' hands, and stop the destinations. The spool is kept."""
        if self.receiver is not None and self.receiver.server is not None:
            self.receiver.stop_accepting()
            if not self.receiver.wait_idle(grace):
                self.log.write("associations-aborted", active=self.receiver.active(), reason="still open after the grace period")
                self.receiver.abort_all()
                self.receiver.wait_idle(5.0)
        if self.processor is not None:
            self.processor.stop()
        if self.linkage is not None:
            self.linkage.close()
            self.linkage = None
        stoppers = [threading.Thread(target=f.stop) for f in self.forwarders.values()]
        for t in stoppers:
            t.start()
        for t in stoppers:
            t.join()
        if self.manifest is not None:
            counts = self.metrics.snapshot()
            summary = batch.Summary(files=counts["deidentified"] + counts["quarantined"], written=counts["deidentified"], quarantined=counts["quarantined"])
            try:
                self.manifest.finish(summary, complete=False)  # a node's run is never complete: the next start goes on
            except OSError:
                pass
            self.manifest = None
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server = None
        if self._started:
            self.log.write("stopped", **{k: v for k, v in self.status().items() if k != "queues"}, waiting=self.metrics.snapshot()["queues"])
            self._started = 0.0
