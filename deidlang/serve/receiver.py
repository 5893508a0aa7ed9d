"""The node's DICOM side: a C-STORE and C-ECHO SCP built on pynetdicom.

* Every storage SOP Class pynetdicom knows is accepted, with every transfer
  syntax it knows (uncompressed, deflated and compressed): the object is stored
  as it was sent, never decoded here.
* A calling AE title that the allow list does not name (or names for another
  host) is rejected at association time (A-ASSOCIATE-RJ, "calling AE title not
  recognised") and logged with its title and address only.
* A C-STORE gets Success (0x0000) only after the object is in the spool and
  flushed to the disk; if the spool cannot take it (disk full, read-only, an
  object over the size limit) the answer is a failure status (0xA700, out of
  resources) and the sender keeps its copy.
* Limits: concurrent associations, PDU size, ACSE/DIMSE/network time-outs.
* TLS with pynetdicom's ``ssl_context``; with a CA, clients must present a
  certificate it signed.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import time
from typing import Any, Callable, cast

from ..dicomio.atomic import describe, errno_of
from .config import NodeConfig
from .metrics import EventLog, Metrics
from .spool import Entry, Spool

__all__ = ["Receiver", "no_delay", "tls_context", "OUT_OF_RESOURCES", "CANNOT_UNDERSTAND", "SUCCESS"]

SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
CANNOT_UNDERSTAND = 0xC000


def tls_context(cert: str, key: str, ca: str | None, *, server: bool) -> ssl.SSLContext:
    """A TLS context for the node (server) or for a destination (client)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert and key:
        context.load_cert_chain(cert, key)
    if ca:
        context.load_verify_locations(ca)
        context.verify_mode = ssl.CERT_REQUIRED
    elif not server:
        context.load_default_certs()
    if not server:
        context.check_hostname = False  # DICOM peers are named by AE title and address; the CA decides
    return context


def no_delay(event) -> None:
    """Send each PDU at once (TCP_NODELAY): pynetdicom writes a message as several small
    PDUs, which Nagle's algorithm would hold back until the peer's delayed acknowledgement."""
    sock = getattr(getattr(event.assoc.dul, "socket", None), "socket", None)
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


def _element(tag: int, vr: bytes, value: bytes) -> bytes:
    return struct.pack("<HH", 0x0002, tag) + vr + struct.pack("<H", len(value)) + value


def received_file(event) -> list:
    """A received C-STORE as a DICOM file, in pieces to write: the bytes pynetdicom's
    ``Event.encoded_dataset()`` makes (the same file meta elements and values), without
    decoding or copying the data set. Unusual UIDs take pynetdicom's own path."""
    from pynetdicom import PYNETDICOM_IMPLEMENTATION_UID, PYNETDICOM_IMPLEMENTATION_VERSION

    request = event.request
    try:
        uids = [str(v).encode("ascii") for v in (request.AffectedSOPClassUID, request.AffectedSOPInstanceUID, event.context.transfer_syntax)]
    except (UnicodeEncodeError, AttributeError):
        return [event.encoded_dataset()]
    if any(len(u) > 64 for u in uids):
        return [event.encoded_dataset()]
    pad = [u + b"\0" * (len(u) % 2) for u in uids]
    version = str(PYNETDICOM_IMPLEMENTATION_VERSION).encode("ascii")
    implementation = str(PYNETDICOM_IMPLEMENTATION_UID).encode("ascii")
    body = (
        struct.pack("<HH", 0x0002, 0x0001)
        + b"OB\0\0"
        + struct.pack("<I", 2)
        + b"\0\x01"
        + _element(0x0002, b"UI", pad[0])
        + _element(0x0003, b"UI", pad[1])
        + _element(0x0010, b"UI", pad[2])
        + _element(0x0012, b"UI", implementation + b"\0" * (len(implementation) % 2))
        + _element(0x0013, b"SH", version + b" " * (len(version) % 2))
    )
    head = b"\0" * 128 + b"DICM" + struct.pack("<HH", 0x0002, 0x0000) + b"UL" + struct.pack("<HI", 4, len(body)) + body
    return [head, request.DataSet.getbuffer()]


class _Association:
    """What the log says about one association when it closes."""

    __slots__ = ("calling_ae", "address", "start", "stored", "refused", "bytes", "echoes")

    def __init__(self, calling_ae: str, address: str):
        self.calling_ae = calling_ae
        self.address = address
        self.start = time.monotonic()
        self.stored = 0
        self.refused = 0
        self.bytes = 0
        self.echoes = 0


class Receiver:
    """The SCP. ``on_spooled(entry)`` is called for every object once it is safe."""

    def __init__(self, config: NodeConfig, spool: Spool, metrics: Metrics, log: EventLog, on_spooled: Callable[[Entry], None]):
        self.config = config
        self.spool = spool
        self.metrics = metrics
        self.log = log
        self.on_spooled = on_spooled
        self.server: Any = None  # pynetdicom's ThreadedAssociationServer, once listening
        self._ae: Any = None
        self._associations: dict[int, _Association] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> int:
        """Listen; returns the port (useful with port 0). Raises OSError when the address is taken."""
        from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
        from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]  # made at import time

        limits = self.config.limits
        ae = AE(ae_title=self.config.ae_title)
        ae.maximum_associations = limits.max_associations
        ae.maximum_pdu_size = limits.max_pdu
        ae.acse_timeout = limits.acse_timeout
        ae.dimse_timeout = limits.dimse_timeout
        ae.network_timeout = limits.network_timeout
        for context in AllStoragePresentationContexts:
            ae.add_supported_context(cast(str, context.abstract_syntax), ALL_TRANSFER_SYNTAXES)
        ae.add_supported_context(Verification)
        handlers: list[Any] = [
            (evt.EVT_CONN_OPEN, no_delay),
            (evt.EVT_REQUESTED, self._on_requested),
            (evt.EVT_ESTABLISHED, self._on_established),
            (evt.EVT_CONN_CLOSE, self._on_closed),
            (evt.EVT_C_STORE, self._on_store),
            (evt.EVT_C_ECHO, self._on_echo),
        ]
        tls = self.config.tls
        ssl_context = tls_context(tls.cert, tls.key, tls.ca, server=True) if tls else None
        self._ae = ae
        self.server = ae.start_server((self.config.host, self.config.port), block=False, evt_handlers=handlers, ssl_context=ssl_context)
        return self.server.server_address[1]

    def stop_accepting(self) -> None:
        """Close the listening socket; associations in progress go on."""
        if self.server is not None:
            self.server.shutdown()

    def active(self) -> int:
        return len(self._associations)

    def wait_idle(self, timeout: float) -> bool:
        """Wait for the associations in progress to end (True if they all did)."""
        deadline = time.monotonic() + timeout
        while self._associations and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self._associations

    def abort_all(self) -> None:
        if self._ae is not None:
            for assoc in list(self._ae.active_associations):
                assoc.abort()

    # ------------------------------------------------------------------ events
    @staticmethod
    def _peer(event) -> tuple[str, str]:
        requestor = event.assoc.requestor
        title = requestor.ae_title
        if isinstance(title, bytes):
            title = title.decode("ascii", "replace")
        return str(title).strip(), str(requestor.address)

    def _on_requested(self, event) -> None:
        """The allow list, checked on the A-ASSOCIATE-RQ (pynetdicom lets this handler reject)."""
        primitive = event.assoc.requestor.primitive
        title = primitive.calling_ae_title
        if isinstance(title, bytes):
            title = title.decode("ascii", "replace")
        title = str(title).strip()
        address = str(event.assoc.requestor.address)
        if self.config.allowed(title, address):
            return
        self.metrics.add("associations", label="rejected")
        self.log.write("association-rejected", calling_ae=title, address=address, reason="calling AE title not allowed")
        event.assoc.acse.send_reject(0x01, 0x01, 0x03)  # permanent, service user, calling AE title not recognised
        event.assoc.kill()

    def _on_established(self, event) -> None:
        title, address = self._peer(event)
        with self._lock:
            self._associations[id(event.assoc)] = _Association(title, address)
        self.metrics.add("associations", label="accepted")

    def _on_closed(self, event) -> None:
        with self._lock:
            info = self._associations.pop(id(event.assoc), None)
        if info is None:
            return
        self.log.write(
            "association",
            calling_ae=info.calling_ae,
            address=info.address,
            stored=info.stored,
            refused=info.refused,
            echoes=info.echoes,
            bytes=info.bytes,
            seconds=round(time.monotonic() - info.start, 3),
            outcome="aborted" if event.assoc.is_aborted else "released",
        )

    def _info(self, event) -> _Association:
        info = self._associations.get(id(event.assoc))
        if info is None:  # established before the handler was bound: never in practice
            info = _Association(*self._peer(event))
            with self._lock:
                self._associations[id(event.assoc)] = info
        return info

    def _on_echo(self, event) -> int:
        self._info(event).echoes += 1
        return SUCCESS

    def _on_store(self, event) -> int:
        started = time.monotonic()
        info = self._info(event)
        self.metrics.add("received")
        size = event.request.DataSet.getbuffer().nbytes
        self.metrics.add("received_bytes", size)
        if size > self.config.limits.max_object_size:
            return self._refuse(info, size, started, "too-large", f"the object is larger than the limit ({self.config.limits.max_object_size} bytes)")
        try:
            parts = received_file(event)  # preamble, file meta (from the request and its context), the data set as sent
            entry = self.spool.store(parts, info.calling_ae)
        except OSError as err:
            return self._refuse(info, size, started, "spool", f"the spool cannot take it: {describe(err)}", errno=errno_of(err))
        except Exception as err:  # noqa: BLE001 - an answer is owed; the message could quote data
            return self._refuse(info, size, started, "error", f"internal error while spooling ({type(err).__name__})", status=CANNOT_UNDERSTAND)
        info.stored += 1
        info.bytes += size
        self.metrics.add("spooled")
        self.log.write("received", object=entry.name, calling_ae=info.calling_ae, bytes=size, status="0x0000", ms=round((time.monotonic() - started) * 1000, 2))
        self.on_spooled(entry)
        return SUCCESS

    def _refuse(
        self, info: _Association, size: int, started: float, reason: str, text: str, *, errno: int | None = None, status: int = OUT_OF_RESOURCES
    ) -> int:
        info.refused += 1
        self.metrics.add("refused", label=reason)
        self.log.write(
            "refused",
            calling_ae=info.calling_ae,
            bytes=size,
            status=f"0x{status:04X}",
            reason=text,
            errno=errno,
            ms=round((time.monotonic() - started) * 1000, 2),
        )
        return status
