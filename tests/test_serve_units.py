"""``deidc serve`` piece by piece: settings and routes, ``--check-config``, the spool,
the log and the metrics, TLS (with certificates made by openssl)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import LOOPBACK, Serve, make_objects, need  # noqa: E402

from deidlang import cli  # noqa: E402
from deidlang.serve import config as cfg  # noqa: E402
from deidlang.serve.metrics import EventLog, Metrics  # noqa: E402
from deidlang.serve.spool import Spool  # noqa: E402

# =========================================================================== settings


def test_small_parsers():
    dest = cfg.parse_forward("PACS@127.0.0.1:4242")
    assert (dest.kind, dest.ae_title, dest.host, dest.port, dest.name) == ("dicom", "PACS", "127.0.0.1", 4242, "PACS_127.0.0.1_4242")
    assert cfg.parse_forward("A@[::1]:104").host == "::1"
    for bad in ("PACS", "PACS@host", "PACS@host:0", "PACS@host:x", "THIS-TITLE-IS-TOO-LONG@h:1", "BACK\\SLASH@h:1"):
        with pytest.raises(ValueError):
            cfg.parse_forward(bad)
    assert cfg.parse_allow("CT1") == ("CT1", None)
    assert cfg.parse_allow("CT1@10.0.0.5") == ("CT1", "10.0.0.5")
    assert cfg.parse_size("512MiB") == 512 << 20 and cfg.parse_size("2 GB") == 2 * 10**9 and cfg.parse_size(1000) == 1000
    for bad in ("lots", "-1", 0, True):
        with pytest.raises(ValueError):
            cfg.parse_size(bad)


def test_build_collects_every_problem_with_did_you_mean(tmp_path):
    settings = {
        "spool": str(tmp_path / "spool"),
        "forwrd": ["X@h:1"],
        "option": ["retain-uid", "safe-harbor", "retain-full-dates"],
        "destinations": {"pacs": {"type": "dicom", "ae_title": "PACS", "host": "h", "port": 104}, "bad name!": {"type": "folder"}},
        "routes": [{"calling_ae": "CT1", "destinations": ["pasc"]}],
        "tls_key": "k.pem",
    }
    with pytest.raises(cfg.ConfigError) as err:
        cfg.build(settings)
    problems = "\n".join(err.value.problems)
    assert "unknown setting 'forwrd'; did you mean 'forward'?" in problems
    assert "unknown option 'retain-uid'; did you mean 'retain-uids'?" in problems
    assert "option 'safe-harbor' cannot be combined with option 'retain-full-dates'" in problems
    assert "unknown destination 'pasc'; did you mean 'pacs'?" in problems
    assert "[destinations.bad name!]" in problems
    assert "TLS needs both --tls-cert and --tls-key" in problems


def test_routes_from_toml_pick_recipes_and_destinations(tmp_path):
    (tmp_path / "r.dicom").write_text("FORMAT dicom\n%header\nREMOVE PatientName\n")
    path = tmp_path / "node.toml"
    path.write_text(
        'spool = "spool"\nforward = ["MAIN@127.0.0.1:104"]\n'
        '[destinations.research]\ntype = "folder"\npath = "research"\n'
        '[[routes]]\nname = "ct"\ncalling_ae = ["CT1"]\nmodality = ["CT"]\nrecipe = ["r.dicom"]\ndestinations = ["research"]\n'
        '[[routes]]\nname = "rest"\n'
    )
    node = cfg.build(cfg.load_toml(str(path)), source=str(path))
    assert node.spool == str(tmp_path / "spool")
    assert node.destination("research").path == str(tmp_path / "research")
    ct, rest = node.routes
    assert ct.recipes == (str(tmp_path / "r.dicom"),)
    assert node.route_for("CT1", "CT") is ct
    assert node.route_for("CT1", "MR") is rest and node.route_for("OTHER") is rest
    assert node.route_destinations(rest) == ("MAIN_127.0.0.1_104", "research")
    assert ct.reads_header and not rest.reads_header


def test_check_config_exits_0_or_1_without_listening(tmp_path, capsys):
    good = ["serve", "--check-config", "--spool", str(tmp_path / "spool"), "--output", str(tmp_path / "out")]
    assert cli.main(good) == 0
    assert "config OK" in capsys.readouterr().out
    assert not (tmp_path / "spool").exists()  # nothing made, nothing listened on
    bad_recipe = tmp_path / "bad.dicom"
    bad_recipe.write_text("FORMAT dicom\n%header\nREMOVE\n")
    assert cli.main([*good, "--recipe", str(bad_recipe)]) == 1
    assert "the node did not start" in capsys.readouterr().err
    assert cli.main(["serve", "--check-config", "--spool", str(tmp_path / "spool")]) == 1  # no destination
    assert "no destination" in capsys.readouterr().err
    assert cli.main(["serve", "--spool", str(tmp_path / "spool"), "--output", str(tmp_path / "spool" / "out")]) == 2
    assert "must not be inside each other" in capsys.readouterr().err


# =========================================================================== spool, log, metrics


def test_spool_names_order_and_hand_over(tmp_path):
    spool = Spool(str(tmp_path / "spool"))
    spool.open(["a", "b"])
    first = spool.store([b"one"], "CT 1")
    second = spool.store([b"t", b"wo"], "MR")
    assert [e.seq for e in spool.pending()] == [first.seq, second.seq] and first.seq < second.seq
    assert spool.pending()[0].calling_ae == "CT 1"
    out = tmp_path / "spool" / "work" / ".out.tmp"
    out.write_bytes(b"deidentified")
    handed = spool.hand_over([(first, str(out), ("a", "b"))])
    assert [(d, s) for d, s, _p in handed] == [("a", first.seq), ("b", first.seq)]
    assert not out.exists() and not os.path.exists(first.path)
    assert [p for _s, p in spool.waiting("a")] == [handed[0][2]] and Path(handed[1][2]).read_bytes() == b"deidentified"
    assert not spool.is_empty()
    spool.hold(second, {"status": "failed", "reason": "cannot read: damaged"})
    held = json.loads((tmp_path / "spool" / "quarantine" / f"{second.name}.json").read_text())
    assert held["reason"] == "cannot read: damaged" and "original" in held["content"]
    for _d, _s, path in handed:
        spool.delivered(path)
    assert spool.is_empty()
    reopened = Spool(str(tmp_path / "spool"))
    reopened.open(["a"])
    assert reopened.next_seq() > second.seq


def test_event_log_takes_plain_values_only():
    stream = io.StringIO()
    log = EventLog(stream)
    log.write("received", object="1", bytes=10, counts={"a": 1})
    assert json.loads(stream.getvalue())["bytes"] == 10
    with pytest.raises(TypeError):
        log.write("received", value=object())


def test_metrics_in_the_prometheus_text_format():
    from prometheus_client import CollectorRegistry, generate_latest

    metrics = Metrics()
    metrics.add("received", 3)
    metrics.add("forwarded", 2, label="pacs")
    metrics.queue("outbox:pacs", 4)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics)
    text = generate_latest(registry).decode()
    assert "deidc_serve_received_total 3.0" in text
    assert 'deidc_serve_forwarded_total{destination="pacs"} 2.0' in text
    assert 'deidc_serve_queue_depth{queue="outbox:pacs"} 4.0' in text


# =========================================================================== TLS


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture()
def certificates(tmp_path) -> Path:
    need("openssl")  # skipped locally when missing, a failure in CI
    d = tmp_path / "tls"
    d.mkdir()
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=test-ca", cwd=d)
    for name in ("node", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", cwd=d)
    return d


def test_tls_with_a_client_certificate(tmp_path, certificates):
    import ssl

    from pynetdicom import AE
    from pynetdicom.sop_class import CTImageStorage, Verification

    d = certificates
    args = ["--output", str(tmp_path / "out"), "--tls-cert", str(d / "node.pem"), "--tls-key", str(d / "node.key"), "--tls-ca", str(d / "ca.pem")]
    files = make_objects(tmp_path / "in", 2, tag="tls")
    with Serve(tmp_path / "spool", args) as serve:
        client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(d / "ca.pem"))
        client.check_hostname = False
        client.load_cert_chain(str(d / "client.pem"), str(d / "client.key"))
        ae = AE(ae_title="TLSCLIENT")
        ae.add_requested_context(Verification)
        ae.add_requested_context(CTImageStorage)
        assoc = ae.associate(LOOPBACK, serve.port, ae_title="DEIDC", tls_args=(client, None))
        assert assoc.is_established
        assert assoc.send_c_echo().Status == 0
        assert [assoc.send_c_store(str(f)).Status for f in files] == [0, 0]
        assoc.release()
        anonymous = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(d / "ca.pem"))
        anonymous.check_hostname = False
        refused = ae.associate(LOOPBACK, serve.port, ae_title="DEIDC", tls_args=(anonymous, None))
        assert not refused.is_established  # no client certificate: the handshake fails
        plain = ae.associate(LOOPBACK, serve.port, ae_title="DEIDC")
        assert not plain.is_established
        serve.wait_idle(30)
    assert len(list((tmp_path / "out").rglob("*.dcm"))) == 2


@pytest.mark.parametrize("instance", ["1.2.3.45", "1.2.3.4", "1.2.826.0.1.3680043.8.498.12345678901234567890123456789012345"])
def test_received_file_is_what_pynetdicom_would_write(instance):
    """The receiver writes the file meta itself (faster): the bytes must be those of
    pynetdicom's ``Event.encoded_dataset()``, odd and even UIDs alike."""
    from pynetdicom import evt
    from pynetdicom.dimse_primitives import C_STORE
    from pynetdicom.events import Event
    from pynetdicom.presentation import build_context

    from deidlang.serve.receiver import received_file

    request = C_STORE()
    request.MessageID = 1
    request.AffectedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    request.AffectedSOPInstanceUID = instance
    request.DataSet = io.BytesIO(b"\x08\x00\x16\x00UI\x1a\x001.2.840.10008.5.1.4.1.1.2\x00")
    context = build_context("1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.1.2.1")
    context.context_id = 1
    event = Event(object(), evt.EVT_C_STORE, {"request": request, "context": context.as_tuple})
    assert b"".join(bytes(p) for p in received_file(event)) == event.encoded_dataset()


def test_tls_destination_node_to_node(tmp_path, certificates):
    """A node forwards over TLS (``tls = true``) to another node that requires client certificates."""
    import ssl

    from pynetdicom import AE
    from pynetdicom.sop_class import CTImageStorage

    d = certificates
    tls = ["--tls-cert", str(d / "node.pem"), "--tls-key", str(d / "node.key"), "--tls-ca", str(d / "ca.pem")]
    files = make_objects(tmp_path / "in", 3, tag="tlsfwd")
    with Serve(tmp_path / "spool-b", ["--output", str(tmp_path / "out"), *tls], ae_title="NODEB") as b:
        config = tmp_path / "a.toml"
        config.write_text(f'[destinations.b]\ntype = "dicom"\nae_title = "NODEB"\nhost = "{LOOPBACK}"\nport = {b.port}\ntls = true\n')
        with Serve(tmp_path / "spool-a", ["--config", str(config), *tls]) as a:
            client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(d / "ca.pem"))
            client.check_hostname = False
            client.load_cert_chain(str(d / "client.pem"), str(d / "client.key"))
            ae = AE(ae_title="SENDER")
            ae.add_requested_context(CTImageStorage)
            assoc = ae.associate(LOOPBACK, a.port, ae_title="DEIDC", tls_args=(client, None))
            assert [assoc.send_c_store(str(f)).Status for f in files] == [0, 0, 0]
            assoc.release()
            a.wait_idle(60)
        b.wait_idle(60)
    assert len(list((tmp_path / "out").rglob("*.dcm"))) == 3


def test_one_node_per_spool(tmp_path):
    with Serve(tmp_path / "spool", ["--output", str(tmp_path / "out")]) as first:
        second = Serve(tmp_path / "spool", ["--output", str(tmp_path / "out")], log=tmp_path / "second.jsonl")
        with pytest.raises(AssertionError, match="exited \\(2\\)"):
            second.start()
        assert "another node uses the spool" in second.stderr_path.read_text()
        assert first.proc.poll() is None
