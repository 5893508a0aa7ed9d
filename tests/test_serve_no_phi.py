"""No PHI in any log line or metric of ``deidc serve`` (issue 16).

The canary corpus (tests/canary.py: a unique marker in every element) goes over
the network to the node, with a failure of every kind the node can meet:

* an object held back by ``--quarantine`` (a derived secondary image: the
  default recipe's blacklist), a malformed data set (quarantined, not
  de-identified), an object over the size limit (refused, 0xA700);
* a calling AE title the allow list does not know (rejected);
* a destination that is down at first (retried, then delivered), and one that
  refuses an object with a failure status (Orthanc: no Series Instance UID; set
  aside in ``failed/``);
* a SIGTERM and a ``kill -9`` with objects in the spool, and the restarts.

Then no marker may appear in the JSON log, the node's stderr, the manifest,
the quarantine and failed reasons, or the ``/metrics`` text. Each failure is
asserted to have happened (a scene that triggers nothing proves nothing).
"""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

import pydicom
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from canary import build_corpus, find_markers, recipe_keywords  # noqa: E402
from peers import LOOPBACK, Orthanc, Serve, StoreSCP, dataset_bytes, echoscu, free_port, send_raw, storescu, wait_until  # noqa: E402

from deidlang import cli  # noqa: E402


def _copy(source: Path, target: Path, change) -> Path:
    ds = pydicom.dcmread(source)
    change(ds)
    ds.save_as(target)
    return target


@pytest.mark.slow
def test_no_marker_in_any_log_line_or_metric(tmp_path):
    corpus = build_corpus(tmp_path / "in", keywords=recipe_keywords(cli.DEFAULT_RECIPE.read_text(encoding="utf-8")), files=2)
    strong = dict(corpus.strong_texts)
    files = [tmp_path / "in" / name for name in corpus.files]
    extra = tmp_path / "extra"
    extra.mkdir()

    def derived(ds):
        ds.ImageType = ["DERIVED", "SECONDARY"]

    flagged = _copy(files[0], extra / "flagged.dcm", derived)
    no_series = _copy(files[1], extra / "no-series.dcm", lambda ds: delattr(ds, "SeriesInstanceUID"))
    large = _copy(files[0], extra / "large.dcm", lambda ds: ds.private_block(0x0099, "PADDING", create=True).add_new(0x01, "OB", bytes(256 << 10)))
    whole = files[1].read_bytes()
    body = dataset_bytes(whole)
    broken = extra / "broken.dcm"
    broken.write_bytes(whole[: len(whole) - len(body)] + body[: len(body) // 2])  # cut in the middle of an element

    key = tmp_path / "key"
    key.write_text("serve-no-phi-test-key-0123456789abcdef\n")
    scp = StoreSCP(tmp_path / "scp")  # down at first
    metrics_port = free_port()
    limit = max(p.stat().st_size for p in files) + 4096
    with Orthanc(tmp_path / "orthanc") as orthanc:
        config = tmp_path / "node.toml"
        config.write_text(
            f'key_file = "{key}"\nquarantine = ["blacklist"]\nmax_object_size = {limit}\n'
            f'allow_ae = ["MODALITY", "REFUSED"]\nretry_min = 0.1\nretry_max = 0.5\nattempts = 2\n'
            f'metrics = "{LOOPBACK}:{metrics_port}"\n\n'
            f'[destinations.scp]\ntype = "dicom"\nae_title = "{scp.ae_title}"\nhost = "{LOOPBACK}"\nport = {scp.port}\n\n'
            f'[destinations.orthanc]\ntype = "dicom"\nae_title = "{orthanc.ae_title}"\nhost = "{LOOPBACK}"\nport = {orthanc.dicom_port}\n\n'
            '[[routes]]\nname = "refusals"\ncalling_ae = ["REFUSED"]\ndestinations = ["orthanc"]\n\n'
            '[[routes]]\nname = "default"\ndestinations = ["scp"]\n'
        )
        serve = Serve(tmp_path / "spool", ["--config", str(config), "--jobs", "2"])
        scraped = []
        try:
            serve.start()
            _p, acks = storescu(serve.port, [*files, flagged, large], calling="MODALITY", extra=["-nh"])
            assert acks[str(large)] != "Success" and acks[str(files[0])] == "Success"
            assert send_raw(serve.port, [("broken", broken.read_bytes())], calling="MODALITY") == [0]  # storescu will not send it
            _p, acks = storescu(serve.port, [no_series], calling="REFUSED")
            assert acks[str(no_series)] == "Success"
            assert echoscu(serve.port, calling="STRANGER").returncode != 0
            wait_until(lambda: serve.events("set-aside") and serve.events("forward-retry"), 60, what="a refusal and a retry")
            scraped.append(urllib.request.urlopen(f"http://{LOOPBACK}:{metrics_port}/metrics", timeout=10).read().decode())
            assert serve.stop() == 0  # SIGTERM with objects waiting for the scp
            serve.start()
            serve.kill()  # kill -9
            scp.start()
            serve.start()
            serve.wait_idle(120)
            scraped.append(urllib.request.urlopen(f"http://{LOOPBACK}:{metrics_port}/metrics", timeout=10).read().decode())
        finally:
            serve.stop()
            scp.stop()

    events = serve.events()
    kinds = {e["event"] for e in events}
    assert {
        "received",
        "refused",
        "association-rejected",
        "quarantined",
        "deidentified",
        "forward-retry",
        "set-aside",
        "forwarded",
        "stopped",
        "started",
    } <= kinds, kinds
    reasons = [e.get("reason", "") for e in events if e["event"] == "quarantined"]
    assert any("blacklist" in r for r in reasons) and any("cut short" in r or "cannot read" in r for r in reasons), reasons
    assert "deidc_serve_set_aside_total" in scraped[0] and "deidc_serve_received_total" in scraped[1]

    spool = serve.spool
    texts = {
        "log": serve.log.read_text(),
        "stderr": serve.stderr_path.read_text(),
        **{f"metrics-{n}": text for n, text in enumerate(scraped)},
        **{str(p.relative_to(spool)): p.read_text() for p in spool.rglob("*.json")},
        **{str(p.relative_to(spool)): p.read_text() for p in spool.rglob("*.jsonl")},
    }
    assert any("quarantine" in name for name in texts) and any(name.startswith("failed") for name in texts)
    leaks = {name: find_markers(text, strong) for name, text in texts.items()}
    assert not {k: v for k, v in leaks.items() if v}, "element values in the node's logs, metrics or records"
    # the negative control: the markers are in what was sent (the scene would prove nothing otherwise)
    assert find_markers(files[0].read_bytes().decode("latin-1"), strong)
