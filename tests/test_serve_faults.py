"""``deidc serve`` when things go wrong (issue 16): a destination that is down, ``kill -9``
at random points while senders send, a full or read-only spool, an unknown calling AE,
a malformed data set inside a C-STORE, an object over the size limit, SIGTERM.

Senders and destinations are DCMTK's (tests/peers.py); the malformed data set is sent
with pynetdicom (no other sender puts bytes that are not a data set on the wire).
"""

from __future__ import annotations

import errno
import io
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pydicom
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import (  # noqa: E402
    LOOPBACK,
    Serve,
    StoreSCP,
    dataset_bytes,
    echoscu,
    free_port,
    in_ci,
    make_objects,
    parse_acks,
    send_raw,
    spool_empty,
    spool_objects,
    storescu,
    storescu_popen,
    wait_until,
)

FAST = ["--retry-min", "0.1", "--retry-max", "0.5", "--attempts", "2"]


@pytest.fixture()
def key_file(tmp_path) -> Path:
    path = tmp_path / "key"
    path.write_text("serve-faults-test-key-0123456789abcdef\n")
    return path


def expected_outputs(tmp_path: Path, inputs: list[Path], key_file: Path) -> dict[str, bytes]:
    """De-identified SOP Instance UID -> ``deidc run``'s data set bytes, for ``inputs``."""
    folder = tmp_path / "expected-in"
    folder.mkdir(exist_ok=True)
    for path in inputs:
        (folder / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "expected-out"
    done = subprocess.run(
        [sys.executable, "-m", "deidlang", "run", "--input", str(folder), "--output", str(out), "--key-file", str(key_file)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return {str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID): dataset_bytes(p.read_bytes()) for p in out.glob("*.dcm")}


def arrivals(scp: StoreSCP) -> dict[str, list[bytes]]:
    found: dict[str, list[bytes]] = {}
    for path in scp.files():
        data = path.read_bytes()
        found.setdefault(str(pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True).SOPInstanceUID), []).append(data)
    return found


def original_uid(path: Path | str) -> str:
    return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


# =========================================================================== destination down


def test_destination_down_first_then_everything_is_delivered(tmp_path, key_file):
    files = make_objects(tmp_path / "in", 12, studies=2, tag="down")
    scp = StoreSCP(tmp_path / "dest")  # not started: the destination is down
    with Serve(tmp_path / "spool", ["--forward", scp.address, "--key-file", str(key_file), *FAST]) as serve:
        _proc, acks = storescu(serve.port, files)
        assert list(acks.values()) == ["Success"] * len(files)
        wait_until(lambda: len(serve.events("forward-retry")) >= 2, 30, what="failed tries")
        assert len(spool_objects(serve.spool)) == len(files)  # waiting in the outbox
        scp.start()
        try:
            serve.wait_idle(60)
        finally:
            scp.stop()
    expected = expected_outputs(tmp_path, files, key_file)
    got = arrivals(scp)
    assert set(got) == set(expected)
    assert all(len(v) == 1 and dataset_bytes(v[0]) == expected[uid] for uid, v in got.items())
    # in arrival order per study: InstanceNumber counts up in the order storescp received them
    order: dict[str, list[int]] = {}
    for path in sorted(scp.files(), key=lambda p: int(p.name.rsplit(".", 1)[-1])):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        order.setdefault(str(ds.StudyInstanceUID), []).append(int(ds.InstanceNumber))
    assert all(numbers == sorted(numbers) for numbers in order.values()), order


# =========================================================================== kill -9


@pytest.mark.slow
def test_kill_9_at_random_points_loses_no_acknowledged_object(tmp_path, key_file):
    files = make_objects(tmp_path / "in", 90, studies=3, tag="kill")
    rng = random.Random(16)
    scp = StoreSCP(tmp_path / "dest").start()
    port = free_port()
    serve = Serve(tmp_path / "spool", ["--forward", scp.address, "--key-file", str(key_file), "--jobs", "2", *FAST], port=port)
    acked: set[str] = set()
    try:
        for round_ in range(4):
            left = [f for f in files if str(f) not in acked]
            serve.start()
            out = tmp_path / f"storescu-{round_}.log"
            sender = storescu_popen(port, left, out=out)
            time.sleep(rng.uniform(0.3, 1.5))
            serve.kill()  # kill -9, while the sender sends and the node de-identifies and forwards
            sender.wait(60)
            acked |= {f for f, status in parse_acks(out.read_text()).items() if status == "Success"}
        assert acked, "the senders never got an acknowledgement before the kills"
        serve.start()  # recovers the spool
        left = [f for f in files if str(f) not in acked]
        _proc, acks = storescu(port, left)
        acked |= {f for f, status in acks.items() if status == "Success"}
        serve.wait_idle(120)
        assert serve.stop() == 0
    finally:
        serve.stop()
        scp.stop()
    assert acked == {str(f) for f in files}
    expected = expected_outputs(tmp_path, files, key_file)
    got = arrivals(scp)
    assert set(got) == set(expected)  # every acknowledged object arrived (at least once)
    for uid, copies in got.items():
        for data in copies:  # identical, whole: nothing half-written was forwarded
            assert dataset_bytes(data) == expected[uid]
    assert spool_empty(serve.spool)
    assert not list((serve.spool / "quarantine").glob("*.dcm"))
    assert len(serve.events("started")) == 5


# =========================================================================== a full or read-only spool


@pytest.fixture()
def small_filesystem(tmp_path):
    """A 3 MiB tmpfs (needs root: CI runs as root)."""
    mount = tmp_path / "fs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        if in_ci():
            pytest.fail(f"cannot mount a tmpfs for the full-spool test: {done.stderr.strip()}")
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError as err:
            assert err.errno == errno.ENOSPC
    return filler


def test_a_full_or_read_only_spool_answers_with_a_failure_status(tmp_path, key_file, small_filesystem):
    files = make_objects(tmp_path / "in", 9, tag="full", pixels=128)
    out = tmp_path / "out"
    with Serve(small_filesystem / "spool", ["--output", str(out), "--key-file", str(key_file), *FAST], log=tmp_path / "serve.jsonl") as serve:
        _proc, acks = storescu(serve.port, files[:3])
        assert list(acks.values()) == ["Success"] * 3
        serve.wait_idle(30)
        filler = _fill(small_filesystem)
        _proc, acks = storescu(serve.port, files[3:6], extra=["-nh"])
        assert len(acks) == 3 and not any(s == "Success" for s in acks.values()), acks
        assert all("OutOfResources" in s for s in acks.values()), acks
        assert not list((serve.spool / "incoming").glob("*.dcm"))  # nothing acknowledged, nothing kept
        filler.unlink()
        incoming = str(serve.spool / "incoming")  # read-only where the receiver writes (a bind mount onto itself)
        subprocess.run(["mount", "--bind", incoming, incoming], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,bind,ro", incoming], check=True)
            _proc, acks = storescu(serve.port, files[6:], extra=["-nh"])
            assert len(acks) == 3 and not any(s == "Success" for s in acks.values()), acks
        finally:
            subprocess.run(["umount", incoming], check=True)
        _proc, acks = storescu(serve.port, files[3:])
        assert list(acks.values()) == ["Success"] * 6  # room again: the senders' retries go through
        serve.wait_idle(60)
        refused = serve.events("refused")
    assert len(refused) == 6
    assert {e["errno"] for e in refused} == {errno.ENOSPC, errno.EROFS}
    assert all(e["status"] == "0xA700" for e in refused)
    assert len(list(out.rglob("*.dcm"))) == 9


# =========================================================================== association and object checks


def test_unknown_calling_ae_is_rejected_and_logged_without_data(tmp_path):
    args = ["--output", str(tmp_path / "out"), "--allow-ae", "MODALITY", "--allow-ae", "PACS@10.255.255.1"]
    with Serve(tmp_path / "spool", args) as serve:
        assert echoscu(serve.port, calling="MODALITY").returncode == 0
        stranger = echoscu(serve.port, calling="STRANGER")
        assert stranger.returncode != 0 and "Rejected" in (stranger.stdout + stranger.stderr)
        wrong_host = echoscu(serve.port, calling="PACS")  # allowed from another host only
        assert wrong_host.returncode != 0
        files = make_objects(tmp_path / "in", 1, tag="ae")
        _proc, acks = storescu(serve.port, files, calling="STRANGER")
        assert not acks
        rejected = serve.events("association-rejected")
    assert [(e["calling_ae"], e["address"]) for e in rejected] == [("STRANGER", LOOPBACK), ("PACS", LOOPBACK), ("STRANGER", LOOPBACK)]
    assert not list((tmp_path / "spool" / "incoming").iterdir())


def test_malformed_data_set_is_quarantined_with_a_reason_and_the_association_goes_on(tmp_path, key_file):
    good = make_objects(tmp_path / "in", 2, tag="malformed")
    whole = good[0].read_bytes()
    body = dataset_bytes(whole)
    head = whole[: len(whole) - len(body)]
    broken = head + body[:40] + b"\x10\x00\x20\x00LO\xff\x7f" + b"X" * 32  # an element longer than what follows
    out = tmp_path / "out"
    with Serve(tmp_path / "spool", ["--output", str(out), "--key-file", str(key_file)]) as serve:
        statuses = send_raw(serve.port, [("broken", broken), ("good", good[1].read_bytes())])
        assert statuses == [0, 0]  # stored as sent; the association went on
        serve.wait_idle(30)
        quarantined = serve.events("quarantined")
    assert len(quarantined) == 1 and "cut short" in quarantined[0]["reason"]
    reasons = list((tmp_path / "spool" / "quarantine").glob("*.json"))
    assert len(reasons) == 1
    record = json.loads(reasons[0].read_text())
    assert record["status"] == "failed" and "cut short" in record["reason"] and record["calling_ae"] == "RAW"
    assert reasons[0].with_suffix(".dcm").read_bytes().endswith(broken[len(head) :])  # the original data set, as received
    assert len(list(out.rglob("*.dcm"))) == 1


def test_an_object_over_the_size_limit_gets_a_failure_status(tmp_path, key_file):
    small = make_objects(tmp_path / "small", 1, tag="small", pixels=16)
    large = make_objects(tmp_path / "large", 1, tag="large", pixels=256)
    out = tmp_path / "out"
    with Serve(tmp_path / "spool", ["--output", str(out), "--key-file", str(key_file), "--max-object-size", "20KiB"]) as serve:
        _proc, acks = storescu(serve.port, [large[0], small[0]], extra=["-nh"])
        serve.wait_idle(30)
        refused = serve.events("refused")
    assert acks[str(small[0])] == "Success"
    assert acks[str(large[0])] != "Success"
    assert [e["status"] for e in refused] == ["0xA700"] and "larger than the limit" in refused[0]["reason"]
    assert len(list(out.rglob("*.dcm"))) == 1


def test_sigterm_finishes_the_association_in_progress_and_keeps_the_spool(tmp_path, key_file):
    files = make_objects(tmp_path / "in", 40, tag="term")
    scp = StoreSCP(tmp_path / "dest")  # down: objects wait in the spool
    serve = Serve(tmp_path / "spool", ["--forward", scp.address, "--key-file", str(key_file), *FAST]).start()
    try:
        out = tmp_path / "storescu.log"
        sender = storescu_popen(serve.port, files, out=out)
        wait_until(lambda: serve.events("received"), 30, what="the first object")
        assert serve.stop(signal.SIGTERM) == 0
        sender.wait(60)
        acked = [f for f, s in parse_acks(out.read_text()).items() if s == "Success"]
        assert sender.returncode == 0 and len(acked) == len(files)  # the association was finished, not cut
        assert len(spool_objects(serve.spool)) == len(files)  # all kept for the next start
        stopped = serve.events("stopped")
        assert len(stopped) == 1
        scp.start()
        serve.start()
        serve.wait_idle(60)
    finally:
        serve.stop()
        scp.stop()
    assert len(arrivals(scp)) == len(files)


def test_associations_over_the_limit_are_rejected(tmp_path):
    from pynetdicom import AE
    from pynetdicom.sop_class import Verification

    with Serve(tmp_path / "spool", ["--output", str(tmp_path / "out"), "--max-associations", "1"]) as serve:
        ae = AE(ae_title="HOLDER")
        ae.add_requested_context(Verification)
        held = ae.associate(LOOPBACK, serve.port, ae_title="DEIDC")
        assert held.is_established
        try:
            second = echoscu(serve.port, calling="SECOND")
            assert second.returncode != 0 and "Rejected" in second.stdout + second.stderr
        finally:
            held.release()
        assert echoscu(serve.port, calling="THIRD").returncode == 0  # room again
