"""``deidc serve`` throughput against a plain store-and-forward node, and its memory over a long run.

    python -m benchmarks.serve_bench                      # rate comparison (2 rounds x 400 objects) and a 5,000-object soak
    python -m benchmarks.serve_bench --objects 200 --rounds 1 --soak 0

Rate: 4 concurrent DCMTK ``storescu`` senders push small CT images on loopback
through a node to a DCMTK ``storescp``; the rate is objects per second from the
first send until the destination holds every object. The nodes, measured in the
same run and interleaved (plain, serve, plain, serve...):

* **plain**: a pynetdicom store-and-forward with no de-identification, built the
  way ``deidc serve`` is (so that the difference is de-identification and its
  bookkeeping): each C-STORE is written to a folder and flushed to the disk
  (``fsync`` of the file and the folder) before it is acknowledged, and one thread
  forwards the files in arrival order over one association (TCP_NODELAY, data
  sets sent from the file as they are), deleting each once acknowledged;
* **plain-fast-meta** (``--fast-meta``): the same, writing each received file the way
  ``deidc serve`` does (file meta encoded by hand, the data set not copied) instead of
  with pynetdicom's ``Event.encoded_dataset()``;
* **serve**: ``deidc serve --jobs 2`` with the bundled default recipe.

Soak: ``--soak N`` objects through ``deidc serve --jobs 2``; the node's RSS (and
its workers') is sampled from /proc; printed at 500 objects and at the end; the
spool must end empty. The DCMTK peers run with TCP_NODELAY=1 (Debian's build
waits for delayed acknowledgements otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from peers import (  # noqa: E402
    LOOPBACK,
    Serve,
    StoreSCP,
    children,
    free_port,
    make_objects,
    parse_acks,
    rss_kib,
    spool_empty,
    storescu_popen,
    wait_until,
)

SENDERS = 4


# =========================================================================== the plain node


def plain_forwarder(port: int, spool: Path, destination: tuple[str, str, int], ready: threading.Event, stop: threading.Event, fast_meta: bool = False) -> None:
    """A pynetdicom store-and-forward node (no de-identification) until ``stop`` is set.
    ``fast_meta``: write the received file as deidc serve does (file meta encoded by hand,
    the data set not copied) instead of pynetdicom's ``Event.encoded_dataset()``."""
    from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, _config, evt

    _config.STORE_SEND_CHUNKED_DATASET = True
    spool.mkdir(parents=True, exist_ok=True)
    queue: deque[Path] = deque()
    cond = threading.Condition()
    counter = [0]
    lock = threading.Lock()

    from deidlang.serve.forwarders import pause_reactor  # the node's work-around for a pynetdicom race
    from deidlang.serve.receiver import no_delay as nodelay  # the same TCP_NODELAY as the node's
    from deidlang.serve.receiver import received_file

    def on_store(event):
        data = b"".join(bytes(p) for p in received_file(event)) if fast_meta else event.encoded_dataset()
        with lock:
            counter[0] += 1
            n = counter[0]
        path = spool / f"{n:012d}.dcm"
        tmp = spool / f".{n:012d}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        dfd = os.open(spool, os.O_RDONLY)
        os.fsync(dfd)
        os.close(dfd)
        with cond:
            queue.append(path)
            cond.notify()
        return 0x0000

    def forward():
        from pydicom.filereader import read_file_meta_info

        ae = AE(ae_title="PLAIN")
        ae.add_requested_context("1.2.840.10008.5.1.4.1.1.2", ["1.2.840.10008.1.2.1"])  # what the benchmark sends
        assoc = None
        while not stop.is_set():
            with cond:
                if not queue:
                    cond.wait(0.2)
                    continue
                path = queue[0]
            if assoc is None or not assoc.is_established:
                assoc = ae.associate(destination[1], destination[2], ae_title=destination[0], evt_handlers=[(evt.EVT_CONN_OPEN, nodelay)])
                if not assoc.is_established:
                    time.sleep(0.5)
                    continue
            read_file_meta_info(path)  # as deidc serve does, to choose the context
            pause_reactor(assoc)
            status = assoc.send_c_store(str(path))
            if status and status.Status == 0:
                path.unlink()
                with cond:
                    queue.popleft()
        if assoc is not None and assoc.is_established:
            assoc.release()

    ae = AE(ae_title="PLAIN")
    for cx in AllStoragePresentationContexts:
        ae.add_supported_context(cx.abstract_syntax, ALL_TRANSFER_SYNTAXES)
    server = ae.start_server((LOOPBACK, port), block=False, evt_handlers=[(evt.EVT_CONN_OPEN, nodelay), (evt.EVT_C_STORE, on_store)])
    sender = threading.Thread(target=forward, daemon=True)
    sender.start()
    ready.set()
    stop.wait()
    server.shutdown()
    sender.join(10)


def _plain_process(port: int, spool: str, ae: str, host: str, dport: int, fast_meta: bool = False) -> None:
    """Entry point of the plain node in its own process (the same footing as deidc serve)."""
    ready, stop = threading.Event(), threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    plain_forwarder(port, Path(spool), (ae, host, dport), ready, stop, fast_meta)


# =========================================================================== one measurement


def _send_all(port: int, batches: list[list[Path]], work: Path) -> float:
    logs = [work / f"storescu-{n}.log" for n in range(len(batches))]
    started = time.monotonic()
    senders = [storescu_popen(port, files, calling=f"MOD{n}", out=logs[n]) for n, files in enumerate(batches)]
    for sender in senders:
        sender.wait(1800)
    acked = sum(1 for log in logs for status in parse_acks(log.read_text()).values() if status == "Success")
    assert acked == sum(len(b) for b in batches), f"only {acked} objects acknowledged"
    return started


def measure(kind: str, batches: list[list[Path]], work: Path, key: Path) -> dict:
    total = sum(len(b) for b in batches)
    work.mkdir(parents=True)
    with StoreSCP(work / "dest") as scp:
        port = free_port()
        if kind.startswith("plain"):
            node = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    f"import sys; sys.path.insert(0, {str(ROOT)!r}); from benchmarks.serve_bench import _plain_process; "
                    f"_plain_process({port}, {str(work / 'spool')!r}, {scp.ae_title!r}, {LOOPBACK!r}, {scp.port}, {kind == 'plain-fast-meta'})",
                ],
                stdin=subprocess.PIPE,
            )
            wait_until(lambda: _listening(port), 30, what="the plain node")
        else:
            node = Serve(work / "spool", ["--forward", scp.address, "--key-file", str(key), "--jobs", "2"], port=port).start()
        try:
            started = _send_all(port, batches, work)
            received = time.monotonic()
            wait_until(lambda: len(scp.files()) >= total, 1800, 0.05, what="every object at the destination")
            delivered = time.monotonic()
        finally:
            if kind.startswith("plain"):
                node.stdin.close()
                node.wait(30)
            else:
                node.stop()
    shutil.rmtree(work, ignore_errors=True)
    return {"kind": kind, "objects": total, "received_per_s": total / (received - started), "forwarded_per_s": total / (delivered - started)}


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((LOOPBACK, port)) == 0


def compare(objects: int, rounds: int, base: Path, kinds: tuple[str, ...] = ("plain", "serve")) -> dict:
    key = base / "key"
    key.write_text("serve-benchmark-key-0123456789abcdef\n")
    per = objects // SENDERS
    batches = [make_objects(base / f"in-{n}", per, studies=5, tag=f"bench{n}") for n in range(SENDERS)]
    runs = []
    for r in range(rounds):
        for kind in kinds:
            result = measure(kind, batches, base / f"{kind}-{r}", key)
            print(json.dumps(result), flush=True)
            runs.append(result)
    summary = {}
    for kind in kinds:
        rates = [r["forwarded_per_s"] for r in runs if r["kind"] == kind]
        summary[kind] = round(statistics.median(rates), 1)
    for kind in kinds:
        if kind.startswith("plain"):
            summary[f"serve/{kind}"] = round(summary["serve"] / summary[kind], 2)
    return summary


def soak(objects: int, base: Path) -> dict:
    key = base / "key"
    if not key.exists():
        key.write_text("serve-benchmark-key-0123456789abcdef\n")
    per = objects // SENDERS
    batches = [make_objects(base / f"soak-{n}", per, studies=10, tag=f"soak{n}") for n in range(SENDERS)]
    with StoreSCP(base / "soak-dest", extra=["--ignore"]) as scp:
        serve = Serve(base / "soak-spool", ["--forward", scp.address, "--key-file", str(key), "--jobs", "2"]).start()
        samples: list[tuple[int, int, int]] = []
        stop = threading.Event()

        def sample():
            pid = serve.proc.pid
            while not stop.wait(1.0):
                try:
                    received = sum(1 for line in open(serve.log) if '"event":"received"' in line)
                    samples.append((received, rss_kib(pid), sum(rss_kib(c) for c in children(pid))))
                except OSError:
                    pass

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            started = _send_all(serve.port, batches, base)
            serve.wait_idle(3600)
            finished = time.monotonic()
            time.sleep(2)
        finally:
            stop.set()
            sampler.join(5)
            serve.stop()
    at_500 = next(s for s in samples if s[0] >= 500)
    end = samples[-1]
    return {
        "objects": per * SENDERS,
        "seconds": round(finished - started, 1),
        "rss_node_kib_after_500": at_500[1],
        "rss_node_kib_end": end[1],
        "rss_node_peak_kib": max(s[1] for s in samples),
        "rss_workers_kib_after_500": at_500[2],
        "rss_workers_kib_end": end[2],
        "node_growth": round(end[1] / at_500[1] - 1, 3),
        "spool_empty": spool_empty(base / "soak-spool"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=400, help="objects per rate run (4 senders share them)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--soak", type=int, default=5000, help="objects for the memory run (0: none)")
    parser.add_argument("--fast-meta", action="store_true", help="also measure the plain node writing received files as deidc serve does")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="serve-bench-") as tmp:
        base = Path(tmp)
        if args.objects:
            kinds = ("plain", "plain-fast-meta", "serve") if args.fast_meta else ("plain", "serve")
            print(json.dumps({"rates_objects_per_s": compare(args.objects, args.rounds, base, kinds)}), flush=True)
        if args.soak:
            print(json.dumps({"soak": soak(args.soak, base)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
