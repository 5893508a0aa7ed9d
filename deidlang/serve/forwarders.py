"""Delivering de-identified objects: one thread per destination, in arrival order.

Each destination has a queue (its outbox in the spool). The head of the
queue is sent until the destination acknowledges it; only then is the
outbox entry removed and the next object sent, so objects of a study arrive
in the order they were received.

* A destination that cannot be reached (connection refused, association
  rejected or aborted, time-out, HTTP 5xx) is retried with back-off
  (``retry_min`` doubling up to ``retry_max`` seconds); the objects wait.
* A destination that answers with a failure status for an object is asked
  again up to ``attempts`` times; then the object is set aside in
  ``failed/<destination>/`` with the status, and the queue moves on.

Destinations: :class:`DicomForwarder` (C-STORE SCU: proposes each object's
own transfer syntax and the uncompressed ones, keeps one association open
while there is work; an object in a syntax the destination does not accept
is decoded and sent uncompressed), :class:`FolderForwarder` (atomic,
flushed files under ``Study/Series/SOPInstance.dcm`` of the de-identified
UIDs) and :class:`StowForwarder` (DICOMweb STOW-RS, ``dicomweb-client``).
"""

from __future__ import annotations

import collections
import errno as errnos
import os
import re
import shutil
import threading
import time
from typing import Any

from .. import engine as batch
from ..dicomio.atomic import describe, fsync_directory, fsync_file, remove_quietly, temporary_name
from ..version import install_hint
from .config import Destination, Limits, NodeConfig
from .metrics import EventLog, Metrics
from .spool import Spool

__all__ = ["pause_reactor", "Forwarder", "DicomForwarder", "FolderForwarder", "StowForwarder", "Unreachable", "Refused", "make_forwarder"]

#: Statuses that count as acknowledged (success and the Storage warnings: coerced, elements discarded, ...).
_STORED = frozenset({0x0000, 0xB000, 0xB006, 0xB007})
_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
#: Presentation contexts proposed per association (the standard allows 128), and objects looked ahead.
_MAX_CONTEXTS = 120
_LOOK_AHEAD = 200


class Unreachable(Exception):
    """The destination cannot be reached now: retry later, with the same object."""


class Refused(Exception):
    """The destination answered with a failure for this object."""

    def __init__(self, reason: str, status: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.status = status


class Forwarder:
    """The queue and the delivery thread of one destination."""

    def __init__(self, destination: Destination, spool: Spool, limits: Limits, metrics: Metrics, log: EventLog, config: NodeConfig):
        self.destination = destination
        self.name = destination.name
        self.spool = spool
        self.limits = limits
        self.metrics = metrics
        self.log = log
        self.config = config
        self._queue: collections.deque[tuple[int, str]] = collections.deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._attempts: dict[int, int] = {}
        self._thread: threading.Thread | None = None
        self.delivered = 0

    # ------------------------------------------------------------------ queue
    def add(self, seq: int, path: str) -> None:
        with self._cond:
            self._queue.append((seq, path))
            self._cond.notify()
        self.metrics.queue(f"outbox:{self.name}", 1)

    def peek(self, n: int) -> list[str]:
        with self._cond:
            return [p for _s, p in list(self._queue)[:n]]

    def __len__(self) -> int:
        return len(self._queue)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=f"deidc-serve-forward-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        self.close()

    def _wait(self, seconds: float) -> None:
        with self._cond:
            if not self._stopping:
                self._cond.wait(seconds)

    # ------------------------------------------------------------------ the loop
    def _loop(self) -> None:
        delay = self.limits.retry_min
        while True:
            with self._cond:
                if not self._queue and not self._stopping:
                    self._cond.wait(self.idle_seconds())
                if self._stopping:
                    return
                head = self._queue[0] if self._queue else None
            if head is None:
                self.idle()  # outside the lock: releasing an association takes a round trip
                continue
            seq, path = head
            started = time.monotonic()
            try:
                if not os.path.exists(path):
                    raise FileNotFoundError(path)
                self.send(path)
            except FileNotFoundError:  # removed by hand: nothing to deliver
                self._done(seq, "missing")
                continue
            except Unreachable as err:
                self.metrics.add("forward_failed", label=self.name)
                self.log.write("forward-retry", destination=self.name, object=f"{seq:020d}", reason=str(err), wait=round(delay, 2))
                self.close()
                self._wait(delay)
                delay = min(max(delay * 2, self.limits.retry_min), self.limits.retry_max)
                continue
            except Refused as err:
                self.metrics.add("forward_failed", label=self.name)
                tries = self._attempts[seq] = self._attempts.get(seq, 0) + 1
                if tries < self.limits.attempts:
                    self.log.write("forward-retry", destination=self.name, object=f"{seq:020d}", reason=err.reason, status=err.status, attempt=tries)
                    self._wait(self.limits.retry_min)
                    continue
                try:
                    self.spool.set_aside(self.name, seq, path, {"reason": err.reason, "status": err.status, "attempts": tries})
                except OSError:  # the spool is full or read-only: the object stays at the head
                    self._wait(self.limits.retry_max if self.limits.retry_max < 5 else 5.0)
                    continue
                self.metrics.add("set_aside", label=self.name)
                self.log.write("set-aside", destination=self.name, object=f"{seq:020d}", reason=err.reason, status=err.status, attempts=tries)
                self._done(seq, None)
                continue
            except Exception as err:  # noqa: BLE001 - a bug must not stop deliveries; the object waits
                self.metrics.add("forward_failed", label=self.name)
                self.log.write(
                    "forward-retry", destination=self.name, object=f"{seq:020d}", reason=f"internal error ({type(err).__name__})", wait=round(delay, 2)
                )
                self.close()
                self._wait(delay)
                delay = min(delay * 2, self.limits.retry_max)
                continue
            delay = self.limits.retry_min
            self.spool.delivered(path)
            self.delivered += 1
            self.metrics.add("forwarded", label=self.name)
            self.log.write("forwarded", destination=self.name, object=f"{seq:020d}", ms=round((time.monotonic() - started) * 1000, 2))
            self._done(seq, None)

    def _done(self, seq: int, note: str | None) -> None:
        with self._cond:
            if self._queue and self._queue[0][0] == seq:
                self._queue.popleft()
        self._attempts.pop(seq, None)
        self.metrics.queue(f"outbox:{self.name}", -1)

    # ------------------------------------------------------------------ per kind
    def send(self, path: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def idle_seconds(self) -> float:
        return 5.0

    def idle(self) -> None:
        """Nothing to send for a while (release connections)."""

    def close(self) -> None:
        """Forget the connection (after a failure, and at shutdown)."""


# =========================================================================== C-STORE SCU


def _meta(path: str) -> tuple[str, str]:
    """(SOP Class UID, Transfer Syntax UID) from a Part 10 file's meta information."""
    from pydicom.filereader import read_file_meta_info

    meta = read_file_meta_info(path)
    return str(meta.MediaStorageSOPClassUID), str(meta.TransferSyntaxUID)


def pause_reactor(assoc) -> None:
    """Make sure the association's reactor thread is parked before a request is sent.

    pynetdicom 3.0's requestor pauses its reactor by clearing an event and waiting for
    a flag that the reactor sets just *before* it waits on that event; when the reactor
    is between that wait returning and its next loop, the flag is still up, the request
    goes out, and the reactor can take the response off the queue ("Received unexpected
    C-STORE service message"): the sender then waits a whole DIMSE time-out (seen once
    every few hundred objects under load). Lowering the flag after clearing the event and
    waiting for the reactor to raise it again means it has come round to the wait.
    """
    checkpoint = getattr(assoc, "_reactor_checkpoint", None)
    if checkpoint is None or not hasattr(assoc, "_is_paused"):
        return
    checkpoint.clear()
    assoc._is_paused = False
    deadline = time.monotonic() + 1.0
    while not assoc._is_paused and assoc.is_established and time.monotonic() < deadline:
        time.sleep(0.0001)


class DicomForwarder(Forwarder):
    """C-STORE to another DICOM node, over one association kept open while there is work."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        from pynetdicom import _config

        _config.STORE_SEND_CHUNKED_DATASET = True  # a file whose syntax is accepted is sent as it is, in chunks
        self._assoc: Any = None  # the open association to the destination
        self._proposed: set[tuple[str, str]] = set()  # (SOP Class, transfer syntax) offered in this association
        self._ssl = None
        if self.destination.tls:
            from .receiver import tls_context

            tls = self.config.tls
            self._ssl = tls_context(tls.cert if tls else "", tls.key if tls else "", tls.ca if tls else None, server=False)

    def idle_seconds(self) -> float:
        return 2.0

    def idle(self) -> None:
        self.close()

    def close(self) -> None:
        assoc, self._assoc = self._assoc, None
        if assoc is not None and assoc.is_established:
            try:
                assoc.release()
            except Exception:  # noqa: BLE001
                assoc.abort()

    def _associate(self, classes: list[tuple[str, str]]):
        from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
        from pynetdicom import AE, evt

        from .receiver import no_delay

        ae = AE(ae_title=self.config.ae_title)
        ae.acse_timeout = self.limits.acse_timeout
        ae.dimse_timeout = self.limits.dimse_timeout
        ae.network_timeout = self.limits.network_timeout
        ae.maximum_pdu_size = self.limits.max_pdu
        uncompressed = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
        contexts: list[tuple[str, list[Any]]] = []  # one per compressed syntax: the destination takes or leaves each
        for sop_class, syntax in dict.fromkeys(classes):
            wanted: list[tuple[str, list[Any]]] = [(sop_class, uncompressed)] if not any(c == sop_class and ts == uncompressed for c, ts in contexts) else []
            if syntax not in uncompressed:
                wanted.append((sop_class, [syntax]))
            if len(contexts) + len(wanted) > _MAX_CONTEXTS:
                break
            contexts.extend(wanted)
        for sop_class, syntaxes in contexts:
            ae.add_requested_context(sop_class, syntaxes)
        self._proposed = {(sop_class, ts) for sop_class, syntaxes in contexts for ts in syntaxes}
        dest = self.destination
        tls: Any = (self._ssl, None) if self._ssl is not None else None  # no hostname check: a peer by address
        try:
            assoc = ae.associate(dest.host, dest.port, ae_title=dest.ae_title, tls_args=tls, evt_handlers=[(evt.EVT_CONN_OPEN, no_delay)])
        except Exception as err:  # noqa: BLE001 - socket errors and the like
            raise Unreachable(f"cannot connect ({type(err).__name__})") from None
        if not assoc.is_established:
            reason = "association rejected" if assoc.is_rejected else "association aborted" if assoc.is_aborted else "cannot connect"
            raise Unreachable(reason)
        return assoc

    def _context(self, sop_class: str, syntax: str) -> str | None:
        """The accepted transfer syntax to send in: the object's own, else an uncompressed one."""
        from pydicom.uid import UID

        accepted = [cx.transfer_syntax[0] for cx in self._assoc.accepted_contexts if cx.abstract_syntax == sop_class]
        if syntax in accepted:
            return syntax
        return next((ts for ts in accepted if not UID(ts).is_compressed), None)

    def send(self, path: str) -> None:
        sop_class, syntax = _meta(path)
        if self._assoc is None or not self._assoc.is_established or (sop_class, syntax) not in self._proposed:
            self.close()
            classes = [(sop_class, syntax)]
            for other in self.peek(_LOOK_AHEAD)[1:]:
                try:
                    classes.append(_meta(other))
                except Exception:  # noqa: BLE001 - read when its turn comes
                    pass
            self._assoc = self._associate(classes)
        use = self._context(sop_class, syntax)
        if use is None:
            raise Refused("the destination does not accept this SOP Class")
        payload = path if use == syntax else self._decoded(path)  # sent from the file as it is, or decoded
        pause_reactor(self._assoc)
        status = self._assoc.send_c_store(payload)
        if not status or "Status" not in status:
            self.close()
            raise Unreachable("no answer to the C-STORE (time-out or aborted)")
        code = int(status.Status)
        if code not in _STORED:
            raise Refused("the destination answered with a failure status", f"0x{code:04X}")

    @staticmethod
    def _decoded(path: str):
        """The object decoded to Explicit VR Little Endian (pynetdicom converts between the
        uncompressed syntaxes by itself)."""
        import pydicom

        ds = pydicom.dcmread(path)
        if ds.file_meta.TransferSyntaxUID.is_compressed:
            try:
                ds.decompress(generate_instance_uid=False)  # the same object, in another syntax
            except Exception as err:  # noqa: BLE001
                raise Refused(f"the destination does not accept its transfer syntax and it cannot be decoded here ({type(err).__name__})") from None
        return ds


# =========================================================================== folder


class FolderForwarder(Forwarder):
    """Files under ``<folder>/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm`` (the
    de-identified UIDs), written as ``deidc run`` writes: a temporary name, flushed, renamed;
    no symbolic link on the way is followed; names that are not UIDs are not used."""

    def idle_seconds(self) -> float:
        return 5.0

    def target(self, path: str) -> str:
        import pydicom

        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"])
        parts = []
        for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
            value = str(ds.get(keyword) or "")
            if not _UID.match(value) or len(value) > 64:
                value = f"no-{keyword}"
            parts.append(value)
        if parts[2].startswith("no-"):  # one file per object all the same
            parts[2] = os.path.basename(path)[:-4]
        return os.path.join(self.destination.path, parts[0], parts[1], parts[2] + ".dcm")

    def send(self, path: str) -> None:
        try:
            target = self.target(path)
        except OSError:
            raise
        except Exception as err:  # noqa: BLE001
            raise Refused(f"cannot read the de-identified object ({type(err).__name__})") from None
        directory = os.path.dirname(target)
        try:
            batch.make_folders(self.destination.path, directory)
        except batch.OutputError as err:
            raise Refused(str(err)) from None
        except OSError as err:
            raise Unreachable(f"cannot make the folder: {describe(err)}") from None
        tmp = temporary_name(target, batch.TMP_SUFFIX)
        try:
            try:
                os.link(path, tmp)  # same file system: no copy
            except OSError as err:
                if err.errno not in (errnos.EXDEV, errnos.EPERM, errnos.EMLINK, errnos.ENOTSUP):
                    raise
                shutil.copyfile(path, tmp)
                fsync_file(tmp)
            os.replace(tmp, target)
            fsync_directory(directory)
        except OSError as err:
            remove_quietly(tmp)
            raise Unreachable(f"cannot write: {describe(err)}") from None


# =========================================================================== STOW-RS


class StowForwarder(Forwarder):
    """DICOMweb STOW-RS (``POST {url}/studies``) with ``dicomweb-client``."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._client: Any = None  # dicomweb-client, made on first use

    def send(self, path: str) -> None:
        import pydicom

        try:
            import requests
            from dicomweb_client.api import DICOMwebClient
        except ImportError:
            raise Unreachable(f"STOW-RS needs dicomweb-client: {install_hint('serve')}") from None
        if self._client is None:
            self._client = DICOMwebClient(url=self.destination.url)
        ds = pydicom.dcmread(path)
        try:
            self._client.store_instances(datasets=[ds])
        except requests.exceptions.HTTPError as err:
            code = err.response.status_code if err.response is not None else 0
            if code >= 500 or code in (0, 408, 429):
                raise Unreachable(f"HTTP {code}") from None
            raise Refused("the destination refused the object", f"HTTP {code}") from None
        except requests.exceptions.RequestException as err:
            self._client = None
            raise Unreachable(f"cannot connect ({type(err).__name__})") from None

    def close(self) -> None:
        self._client = None


_KINDS = {"dicom": DicomForwarder, "folder": FolderForwarder, "stow": StowForwarder}


def make_forwarder(destination: Destination, spool: Spool, config: NodeConfig, metrics: Metrics, log: EventLog) -> Forwarder:
    return _KINDS[destination.kind](destination, spool, config.limits, metrics, log, config)
