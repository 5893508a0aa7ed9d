"""``deidc serve`` under load (issue 16): 4 concurrent ``storescu`` senders x 250 objects
through the node to ``storescp``. None lost, none duplicated, each study in order; the
node's memory stays flat (RSS within 20% of its value after the first 500 objects) and
the spool returns to empty. The rates are printed (run with ``-s``); timings are for
benchmarks/serve_bench.py, never pass/fail here.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pydicom
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import Serve, StoreSCP, children, make_objects, parse_acks, rss_kib, spool_empty, storescu_popen  # noqa: E402

SENDERS = 4
PER_SENDER = 250


class RssSampler:
    """RSS (KiB) of the node and of its worker processes, against objects received so far."""

    def __init__(self, serve: Serve):
        self.serve = serve
        self.samples: list[tuple[int, int, int]] = []  # (received, node KiB, workers KiB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        pid = self.serve.proc.pid
        while not self._stop.wait(0.25):
            try:
                received = len(self.serve.events("received"))
                node = rss_kib(pid)
                workers = sum(rss_kib(c) for c in children(pid))
            except OSError:
                continue
            self.samples.append((received, node, workers))

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)

    def at(self, received: int) -> tuple[int, int]:
        """The first sample taken once ``received`` objects had arrived."""
        for n, node, workers in self.samples:
            if n >= received:
                return node, workers
        raise AssertionError(f"no RSS sample after {received} objects")


@pytest.mark.slow
def test_four_senders_250_objects_each_none_lost_none_duplicated(tmp_path):
    key = tmp_path / "key"
    key.write_text("serve-load-test-key-0123456789abcdef\n")
    batches = [make_objects(tmp_path / f"in-{n}", PER_SENDER, studies=5, tag=f"load{n}") for n in range(SENDERS)]
    total = SENDERS * PER_SENDER
    with StoreSCP(tmp_path / "dest") as scp:
        serve = Serve(tmp_path / "spool", ["--forward", scp.address, "--key-file", str(key), "--jobs", "2"]).start()
        try:
            with RssSampler(serve) as rss:
                started = time.monotonic()
                logs = [tmp_path / f"storescu-{n}.log" for n in range(SENDERS)]
                senders = [storescu_popen(serve.port, files, calling=f"MOD{n}", out=logs[n]) for n, files in enumerate(batches)]
                for sender in senders:
                    sender.wait(600)
                received_at = time.monotonic()
                serve.wait_idle(600)
                forwarded_at = time.monotonic()
                time.sleep(0.6)  # one more sample once idle
            assert serve.stop() == 0
        finally:
            serve.stop()
    acked = {}
    for log in logs:
        acked.update(parse_acks(log.read_text()))
    assert len(acked) == total and set(acked.values()) == {"Success"}

    files = scp.files()
    uids: dict[str, int] = {}
    order: dict[str, list[int]] = {}
    for path in sorted(files, key=lambda p: int(p.name.rsplit(".", 1)[-1])):  # storescp numbers files as they come
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        uids[str(ds.SOPInstanceUID)] = uids.get(str(ds.SOPInstanceUID), 0) + 1
        order.setdefault(str(ds.StudyInstanceUID), []).append(int(ds.InstanceNumber))
    assert len(files) == total, "lost or duplicated objects"
    assert len(uids) == total and set(uids.values()) == {1}
    assert len(order) == SENDERS * 5 and all(n == sorted(n) for n in order.values()), "a study arrived out of order"
    assert spool_empty(serve.spool)

    node_500, workers_500 = rss.at(500)
    node_end, workers_end = rss.samples[-1][1:]
    print(
        f"\nload: {total} objects from {SENDERS} senders: received {total / (received_at - started):.0f} objects/s, "
        f"forwarded {total / (forwarded_at - started):.0f} objects/s; RSS node {node_500} KiB after 500, {node_end} KiB at the end; "
        f"workers {workers_500} KiB -> {workers_end} KiB; spool empty"
    )
    assert node_end <= node_500 * 1.2, (node_500, node_end)
    assert workers_end <= max(workers_500, 1) * 1.2, (workers_500, workers_end)
