"""``deidc serve`` end to end, against DICOM software no one here wrote (tests/peers.py).

One scene for the module: DCMTK's ``storescu`` sends pydicom's files, deid-data's
files, the synthetic corpus, the demo data and compressed images (RLE, JPEG
2000, JPEG baseline, JPEG-LS: each in its own syntax) to ``deidc serve``, which
forwards to Orthanc, to DCMTK's ``storescp`` and to a folder. Then:

* every object arrives exactly once at each destination, de-identified, equal
  (as a data set) to ``deidc run``'s output for the same file, key and recipe;
* compressed inputs arrive compressed as they were sent, and decodable;
* objects ``deidc run`` fails on are quarantined in the spool with a reason;
* the spool is empty; the manifest has one record per object.

A second scene sends with pynetdicom, which sends a file's data set bytes as
they are: the folder destination's data set bytes then equal ``deidc run``'s.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import materialize, normalize_dataset  # noqa: E402
from peers import LOOPBACK, Orthanc, Serve, StoreSCP, dataset_bytes, iter_dicom, need, spool_empty, storescu  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "deidlang" / "data" / "demo"
#: Compressed test files of pydicom's (deid-data's are JPEG baseline too).
COMPRESSED = ("SC_rgb_rle.dcm", "MR_small_jp2klossless.dcm", "SC_rgb_jpeg_dcmtk.dcm", "MR_small_jpeg_ls_lossless.dcm")
#: The storescu option that proposes a compressed syntax (storescu proposes uncompressed ones by default).
PROPOSE = {
    "1.2.840.10008.1.2.5": "-xr",
    "1.2.840.10008.1.2.4.90": "-xv",
    "1.2.840.10008.1.2.4.91": "-xw",
    "1.2.840.10008.1.2.4.50": "-xy",
    "1.2.840.10008.1.2.4.51": "-xx",
    "1.2.840.10008.1.2.4.80": "-xt",
    "1.2.840.10008.1.2.4.70": "-xs",
}


def run_deidc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deidlang", *args], capture_output=True, text=True, timeout=300)


def sop_uid(data: bytes | Path) -> str:
    src = io.BytesIO(data) if isinstance(data, bytes) else data
    return str(pydicom.dcmread(src, stop_before_pixels=True, force=True).SOPInstanceUID)


def comparable(ds) -> dict:
    """A data set as plain values (file meta left out: each node writes its own)."""
    return normalize_dataset(ds)


@pytest.fixture(scope="module")
def key_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("key") / "key"
    path.write_text("serve-end-to-end-test-key-0123456789\n")
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """Copies of every input, in folders by how storescu sends them: ``plain`` (in an
    uncompressed syntax) and one folder per storescu option for compressed syntaxes."""
    from pydicom.data import get_testdata_file

    base = tmp_path_factory.mktemp("inputs")
    sources = {name: Path(path) for name, path in materialize(base / "corpus").items()}
    sources.update({f"demo-{n:02d}": path for n, path in enumerate(sorted(DEMO.rglob("*.dcm")))})
    sources.update({name[:-4]: Path(get_testdata_file(name)) for name in COMPRESSED})
    folders: dict[str, Path] = {}
    seen: set[str] = set()
    for name, path in sources.items():
        header = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        if "SOPClassUID" not in header or "SOPInstanceUID" not in header:
            continue  # a bare data set (pydicom's priv_SQ): nothing that a C-STORE can carry
        syntax = str(header.file_meta.get("TransferSyntaxUID", ""))
        kind = PROPOSE.get(syntax, "plain")
        folder = folders.setdefault(kind, base / kind.strip("-"))
        folder.mkdir(exist_ok=True)
        target = folder / f"{name}.dcm"
        if str(header.SOPInstanceUID) in seen:  # pydicom's MR_small comes in several syntaxes, one instance
            ds = pydicom.dcmread(path, force=True)
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[name])
            ds.save_as(target)
        else:
            shutil.copy(path, target)
        seen.add(str(header.SOPInstanceUID))
    assert len(folders) >= 4
    return folders


@pytest.fixture(scope="module")
def scene(tmp_path_factory, inputs, key_file):
    need("storescu")
    base = tmp_path_factory.mktemp("scene")
    orthanc = Orthanc(base / "orthanc").start()
    scp = StoreSCP(base / "storescp").start()
    folder = base / "folder"
    serve = Serve(
        base / "spool",
        [
            "--forward",
            orthanc.address,
            "--forward",
            scp.address,
            "--output",
            str(folder),
            "--key-file",
            str(key_file),
            "--retry-min",
            "0.2",
            "--retry-max",
            "1",
            "--attempts",
            "2",
            "--jobs",
            "2",
        ],
    )
    try:
        serve.start()
        acks = {}
        for kind, files in inputs.items():
            _proc, found = storescu(serve.port, sorted(files.iterdir()), extra=["-nh"] + ([kind] if kind != "plain" else []))
            acks.update(found)
        serve.wait_idle(180)
        expected = base / "expected"
        for kind, files in inputs.items():
            done = run_deidc("run", "--input", str(files), "--output", str(expected / kind.strip("-")), "--key-file", str(key_file), "--force")
            assert done.returncode in (0, 1), done.stderr
        yield {"serve": serve, "orthanc": orthanc, "scp": scp, "folder": folder, "acks": acks, "expected": expected, "inputs": inputs, "base": base}
    finally:
        serve.stop()
        scp.stop()
        orthanc.stop()


def _expected(scene) -> dict[str, Path]:
    """SOP Instance UID (de-identified) -> deidc run's output, for every input run wrote."""
    out = {}
    for path in iter_dicom(scene["expected"]):
        if path.suffix == ".dcm" and "quarantine" not in path.parts:
            out[sop_uid(path)] = path
    return out


def test_every_object_was_acknowledged(scene):
    inputs = scene["inputs"]
    sent = [str(p) for folder in inputs.values() for p in sorted(folder.iterdir())]
    assert set(scene["acks"]) == set(sent)
    assert all(status == "Success" for status in scene["acks"].values()), scene["acks"]


def _set_aside(scene, destination: str) -> dict[str, Path]:
    folder = scene["serve"].spool / "failed" / destination
    return {sop_uid(p): p for p in sorted(folder.glob("*.dcm"))} if folder.exists() else {}


def _without_series(path: Path) -> bool:
    ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    return not all(str(ds.get(k) or "") for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"))


def test_every_object_arrives_once_at_every_destination_equal_to_deidc_run(scene):
    expected = _expected(scene)
    assert len(expected) >= 30
    orthanc = scene["orthanc"]
    arrived = {"orthanc": {}, "storescp": {}, "folder": {}}
    for ident in orthanc.instances():
        data = orthanc.instance_file(ident)
        arrived["orthanc"].setdefault(sop_uid(data), []).append(data)
    for path in scene["scp"].files():
        arrived["storescp"].setdefault(sop_uid(path), []).append(path.read_bytes())
    for path in iter_dicom(scene["folder"]):
        arrived["folder"].setdefault(sop_uid(path), []).append(path.read_bytes())
    names = {"orthanc": orthanc.address, "storescp": scene["scp"].address, "folder": "folder-folder"}
    for where, found in arrived.items():
        aside = _set_aside(scene, names[where].replace("@", "_").replace(":", "_"))
        if where == "orthanc":  # Orthanc refuses (0xA700) objects without a Study, Series or SOP Instance UID
            assert aside and all(_without_series(p) for p in aside.values())
            assert all(_without_series(expected[uid]) for uid in aside)
        else:
            assert not aside, where
        assert set(found) | set(aside) == set(expected), where
        assert not set(found) & set(aside), where
        assert all(len(copies) == 1 for copies in found.values()), f"{where}: an object arrived twice"
        for uid, (data,) in found.items():
            want = pydicom.dcmread(expected[uid], force=True)
            got = pydicom.dcmread(io.BytesIO(data))
            if got.file_meta.TransferSyntaxUID.is_compressed:
                got.decompress(generate_instance_uid=False)
                want.decompress(generate_instance_uid=False)
            assert comparable(got) == comparable(want), f"{where}: {expected[uid].name} differs from deidc run's output"


def test_compressed_inputs_arrive_compressed_and_decodable(scene):
    expected = _expected(scene)
    compressed = {p.name: p for kind, folder in scene["inputs"].items() if kind != "plain" for p in folder.iterdir()}
    orthanc = scene["orthanc"]
    seen = set()
    for ident in orthanc.instances():
        ds = pydicom.dcmread(io.BytesIO(orthanc.instance_file(ident)))
        source = expected[str(ds.SOPInstanceUID)]
        if source.name not in compressed:
            continue
        original = pydicom.dcmread(compressed[source.name])
        assert ds.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID  # stored and sent as it came
        assert ds.pixel_array.shape == original.pixel_array.shape
        seen.add(source.name)
    assert seen == set(compressed)
    assert {f"{name[:-4]}.dcm" for name in COMPRESSED} <= seen


def test_failures_are_quarantined_with_a_reason_and_the_spool_is_empty(scene):
    spool = scene["serve"].spool
    assert spool_empty(spool)
    records = [json.loads(line) for line in (spool / "deidlang-manifest.jsonl").read_text().splitlines()]
    received = len(scene["acks"])
    assert len(records) == received  # one record per object
    quarantined = sorted((spool / "quarantine").glob("*.json"))
    failed_by_run = [r for r in records if r["status"] == "failed"]
    assert len(quarantined) == len(failed_by_run)
    for reason in quarantined:
        data = json.loads(reason.read_text())
        assert data["reason"] and data["status"] == "failed"
        assert reason.with_suffix(".dcm").is_file()
    written = [r for r in records if r["status"] == "written"]
    assert len(written) == len(_expected(scene))
    events = scene["serve"].events()
    aside = sum(e["event"] == "set-aside" for e in events)
    assert sum(e["event"] == "forwarded" for e in events) + aside == 3 * len(written)


def test_data_set_bytes_equal_deidc_run_when_sent_as_they_are(tmp_path, key_file):
    """pynetdicom sends a file's data set bytes unchanged: the node's output data set is
    then byte for byte ``deidc run``'s for the same file, key and recipe."""
    from pydicom.data import get_testdata_file
    from pynetdicom import AE, _config

    files = [Path(get_testdata_file(n)) for n in ("CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "MR_small_implicit.dcm")]
    files += sorted(DEMO.rglob("*.dcm"))[:4]
    folder = tmp_path / "out"
    with Serve(tmp_path / "spool", ["--output", str(folder), "--key-file", str(key_file)]) as serve:
        _config.STORE_SEND_CHUNKED_DATASET = True
        try:
            ae = AE(ae_title="PYNET")
            for path in files:
                meta = pydicom.dcmread(path, stop_before_pixels=True, force=True)
                ae.add_requested_context(meta.SOPClassUID, [meta.file_meta.TransferSyntaxUID])
            assoc = ae.associate(LOOPBACK, serve.port, ae_title="DEIDC")
            assert assoc.is_established
            statuses = [assoc.send_c_store(path).Status for path in files]
            assoc.release()
        finally:
            _config.STORE_SEND_CHUNKED_DATASET = False
        assert statuses == [0] * len(files)
        serve.wait_idle(60)
    inputs = tmp_path / "in"
    inputs.mkdir()
    for n, path in enumerate(files):
        shutil.copy(path, inputs / f"{n}.dcm")
    done = run_deidc("run", "--input", str(inputs), "--output", str(tmp_path / "run"), "--key-file", str(key_file))
    assert done.returncode == 0, done.stderr
    expected = {sop_uid(p): p for p in iter_dicom(tmp_path / "run") if p.suffix == ".dcm"}
    served = {sop_uid(p): p for p in iter_dicom(folder)}
    assert set(served) == set(expected)
    for uid, path in served.items():
        assert dataset_bytes(path.read_bytes()) == dataset_bytes(expected[uid].read_bytes()), expected[uid].name
        # the folder layout: Study/Series/SOPInstance.dcm of the de-identified UIDs
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        assert path.relative_to(folder).parts == (ds.StudyInstanceUID, ds.SeriesInstanceUID, f"{ds.SOPInstanceUID}.dcm")


DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"


def test_stow_rs_destination_delivers_to_orthanc_dicomweb(tmp_path, key_file):
    """STOW-RS (dicomweb-client) to Orthanc's DICOMweb plugin (Debian package orthanc-dicomweb)."""
    if not Path(DICOMWEB_PLUGIN).exists():
        from peers import in_ci

        if in_ci():
            pytest.fail("orthanc-dicomweb is not installed: CI must install it")
        pytest.skip("orthanc-dicomweb is not installed")
    from peers import make_objects

    files = make_objects(tmp_path / "in", 5, tag="stow")
    with Orthanc(tmp_path / "orthanc", plugins=[DICOMWEB_PLUGIN]) as orthanc:
        config = tmp_path / "node.toml"
        config.write_text(f'key_file = "{key_file}"\n[destinations.web]\ntype = "stow"\nurl = "{orthanc.url}/dicom-web"\n')
        with Serve(tmp_path / "spool", ["--config", str(config)]) as serve:
            _proc, acks = storescu(serve.port, files)
            assert list(acks.values()) == ["Success"] * 5
            serve.wait_idle(60)
            forwarded = serve.events("forwarded")
        arrived = {sop_uid(orthanc.instance_file(i)) for i in orthanc.instances()}
    assert len(forwarded) == 5 and all(e["destination"] == "web" for e in forwarded)
    expected_dir = tmp_path / "expected"
    done = run_deidc("run", "--input", str(tmp_path / "in"), "--output", str(expected_dir), "--key-file", str(key_file))
    assert done.returncode == 0, done.stderr
    assert arrived == {sop_uid(p) for p in expected_dir.glob("*.dcm")}
