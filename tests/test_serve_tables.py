"""``deidc serve`` with lookup tables: ``--table``, ``--on-missing`` and ``--linkage`` (in
the settings and on the command line), the recipes checked with the tables before the node
listens, and each missing-row policy applied per object by the run's own Worker: ``fail``
quarantines the object with the reason, ``quarantine`` holds its de-identified output in
the spool's quarantine, ``hash`` forwards it with the keyed fallback recorded in the
manifest. Objects are sent with DCMTK's ``storescu``, as a modality would."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pydicom
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import Serve, make_objects, storescu, wait_until  # noqa: E402

from deidlang import cli  # noqa: E402
from deidlang.runtime import keys  # noqa: E402
from deidlang.serve import config as cfg  # noqa: E402

KEY_TEXT = "serve-tables-key-0123456789abcdef"
RECIPE = (
    "FORMAT dicom\n%header\n"
    "REPLACE PatientID deid_func:lookup table=subjects key=PatientID column=subject_id\n"
    "REPLACE PatientName deid_func:lookup table=subjects key=PatientID column=subject_id\n"
)
#: The patient of study 1 has no row: the value that must never appear in a log, a reason or the manifest.
MISSING = "tbl-patient-1"


@pytest.fixture()
def node_files(tmp_path):
    recipe = tmp_path / "lookup.dicom"
    recipe.write_text(RECIPE)
    table = tmp_path / "subjects.csv"
    table.write_text("PatientID,subject_id\ntbl-patient-0,SUBJ-0\nsomeone-else,SUBJ-9\n")
    objects = make_objects(tmp_path / "in", 4, studies=2, tag="tbl")  # patients 0 and 1, two objects each
    return {"recipe": recipe, "table": table, "objects": objects}


def _patient(path: Path) -> str:
    return str(pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["PatientID"]).PatientID)


def _outputs(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.dcm")) if folder.exists() else []


def _held(spool: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((spool / "quarantine").glob("*.json"))]


def _no_value_anywhere(serve: Serve, spool: Path) -> None:
    """The missing key's value is in no log line, reason, manifest or error message."""
    texts = [serve.log.read_text(), serve.stderr_path.read_text()]
    texts += [p.read_text() for p in spool.glob("deidlang-manifest.json*")]
    texts += [p.read_text() for p in (spool / "quarantine").glob("*.json")]
    assert not any(MISSING in t for t in texts)


@pytest.mark.parametrize("policy", ["fail", "quarantine"])
def test_a_missing_row_holds_the_object_in_the_quarantine_with_the_reason(tmp_path, node_files, policy):
    spool, out = tmp_path / "spool", tmp_path / "out"
    args = ["--recipe", str(node_files["recipe"]), "--table", f"subjects={node_files['table']}", "--on-missing", policy, "--output", str(out)]
    with Serve(spool, args, env={"DEIDLANG_KEY": KEY_TEXT}) as serve:
        _proc, acks = storescu(serve.port, node_files["objects"])
        assert list(acks.values()) == ["Success"] * 4  # acknowledged once spooled, whatever the table says
        serve.wait_idle(60)

        def counted() -> bool:  # the log line of an object can follow its last move in the spool
            kinds = [e["event"] for e in serve.events()]
            return kinds.count("quarantined") >= 2 and kinds.count("deidentified") >= 2

        wait_until(counted, 30, what="the log lines of the four objects")
        events = serve.events()
    forwarded = _outputs(out)
    assert [_patient(p) for p in forwarded] == ["SUBJ-0", "SUBJ-0"]  # the patient with a row, looked up
    held = _held(spool)
    assert len(held) == 2
    for record in held:
        assert "table 'subjects'" in record["reason"] and "PatientID" in record["reason"]
        if policy == "fail":  # nothing was written: the original as received is kept, as for any recipe failure
            assert record["status"] == "failed" and "R006" in record["reason"]
            assert record["content"] == "the original as received (not de-identified)"
        else:  # de-identified with the keyed fallback, held instead of forwarded
            assert record["status"] == "quarantined" and "--on-missing quarantine" in record["reason"]
            assert record["content"] == "de-identified"
    if policy == "quarantine":
        quarantined = sorted((spool / "quarantine").glob("*.dcm"))
        assert [_patient(p) for p in quarantined] == [keys.hash_id(keys.key_from_text(KEY_TEXT), MISSING)] * 2
    assert len([e for e in events if e["event"] == "quarantined"]) == 2 and len([e for e in events if e["event"] == "deidentified"]) == 2
    _no_value_anywhere(serve, spool)


def test_hash_fallback_is_forwarded_recorded_in_the_manifest_and_linked(tmp_path, node_files):
    """Two worker processes (the tables read once by the node, sent to each worker once), the
    settings file's ``table``/``on_missing``/``linkage`` with paths relative to it."""
    spool, out = tmp_path / "spool", tmp_path / "out"
    config = tmp_path / "node.toml"
    config.write_text(
        f'output = ["out"]\nrecipe = ["{node_files["recipe"].name}"]\ntable = ["subjects=subjects.csv"]\n'
        'on_missing = "hash"\nlinkage = "broker/linkage.csv"\njobs = 2\n'
    )
    with Serve(spool, ["--config", str(config)], env={"DEIDLANG_KEY": KEY_TEXT}) as serve:
        _proc, acks = storescu(serve.port, node_files["objects"])
        assert list(acks.values()) == ["Success"] * 4
        serve.wait_idle(60)
        started = serve.events("started")[-1]
    assert started["tables"] == ["subjects"] and started["on_missing"] == "hash" and started["linkage"] is True
    fallback = keys.hash_id(keys.key_from_text(KEY_TEXT), MISSING)
    assert sorted(_patient(p) for p in _outputs(out)) == sorted(["SUBJ-0", "SUBJ-0", fallback, fallback])
    assert _held(spool) == []
    records = [json.loads(line) for line in (spool / "deidlang-manifest.jsonl").read_text().splitlines()]
    assert sorted(tuple(r.get("fallbacks", ())) for r in records) == [(), (), ("subjects:PatientID",), ("subjects:PatientID",)]
    header = json.loads((spool / "deidlang-manifest.json").read_text())
    assert header["options"]["tables"]["on_missing"] == "hash" and header["options"]["linkage"] is True
    assert len([e for e in serve.events("deidentified") if e.get("fallbacks") == 1]) == 2
    linkage = tmp_path / "broker" / "linkage.csv"
    assert stat.S_IMODE(os.stat(linkage).st_mode) == 0o600
    rows = linkage.read_text().splitlines()
    assert rows[0] == "kind,original,replacement,first_file"
    linked = {tuple(r.split(",")[:3]) for r in rows[1:]}
    assert {
        ("PatientID", "tbl-patient-0", "SUBJ-0"),
        ("PatientName", "tbl^study0", "SUBJ-0"),
        ("PatientID", MISSING, fallback),
        ("PatientName", "tbl^study1", fallback),
    } <= linked  # (and the nested PatientIDs of CT_small's OtherPatientIDsSequence, replaced too)
    assert {new for _kind, _old, new in linked} == {"SUBJ-0", fallback}
    _no_value_anywhere(serve, spool)


def test_a_linkage_file_that_links_a_patient_elsewhere_is_logged_not_rewritten(tmp_path, node_files):
    """The node's linkage file already says tbl-patient-0 became SUBJ-OLD (an earlier table):
    the node keeps that row and logs a linkage-conflict event with counts by kind, no value."""
    spool, out = tmp_path / "spool", tmp_path / "out"
    linkage = tmp_path / "broker" / "linkage.csv"
    linkage.parent.mkdir()
    linkage.write_text("kind,original,replacement,first_file\nPatientID,tbl-patient-0,SUBJ-OLD,earlier.dcm\n")
    args = ["--recipe", str(node_files["recipe"]), "--table", f"subjects={node_files['table']}", "--on-missing", "hash"]
    args += ["--linkage", str(linkage), "--output", str(out)]
    with Serve(spool, args, env={"DEIDLANG_KEY": KEY_TEXT}) as serve:
        _proc, acks = storescu(serve.port, node_files["objects"])
        assert list(acks.values()) == ["Success"] * 4
        serve.wait_idle(60)
        wait_until(lambda: sum(e["originals"] for e in serve.events("linkage-conflict")) >= 3, 30, what="the linkage-conflict events")
        conflicts = serve.events("linkage-conflict")
    # tbl-patient-0 (SUBJ-OLD in the file), and the two PatientIDs inside OtherPatientIDsSequence that
    # both patients' objects carry (made from the same sample file): replaced by each patient's own
    # subject ID, so one original has two replacements, which one linkage row cannot say
    assert sum(e["originals"] for e in conflicts) == 3 and all(set(e["kinds"]) == {"PatientID"} for e in conflicts), conflicts
    rows = linkage.read_text().splitlines()
    assert "PatientID,tbl-patient-0,SUBJ-OLD,earlier.dcm" in rows and not any(r.startswith("PatientID,tbl-patient-0,SUBJ-0,") for r in rows)
    assert "tbl-patient-0" not in serve.log.read_text() and "SUBJ-OLD" not in serve.log.read_text()


def test_recipes_are_checked_with_the_tables_before_the_node_listens(tmp_path, node_files, capsys):
    base = ["serve", "--check-config", "--spool", str(tmp_path / "spool"), "--output", str(tmp_path / "out"), "--recipe", str(node_files["recipe"])]
    assert cli.main(base) == 1  # a lookup without its table: E217, the node does not start
    assert "E217" in capsys.readouterr().err
    table = f"subjects={node_files['table']}"
    assert cli.main([*base, "--table", table]) == 0
    said = capsys.readouterr()
    assert "table subjects: 2 rows from" in said.out and "a key without a row: fail" in said.out
    wrong = tmp_path / "wrong.dicom"
    wrong.write_text(RECIPE.replace("column=subject_id", "column=subject"))
    assert cli.main([*base[:-1], str(wrong), "--table", table]) == 1
    assert "E218" in capsys.readouterr().err
    spare = tmp_path / "spare.json"
    spare.write_text('[{"PatientID": "x", "site": "A"}]')
    assert cli.main([*base, "--table", table, "--table", f"sites={spare}"]) == 0  # an unused table is a warning
    assert "W209" in capsys.readouterr().err
    assert cli.main([*base, "--table", f"subjects={tmp_path / 'absent.csv'}"]) == 2  # a table that cannot be read
    assert "absent.csv" in capsys.readouterr().err


def test_settings_of_tables_are_checked(tmp_path):
    spool = tmp_path / "spool"
    settings = {
        "spool": str(spool),
        "output": [str(tmp_path / "out")],
        "table": ["subjects=a.csv", "subjects=b.csv", "no-equals"],
        "on_missing": "hsh",
        "linkage": str(spool / "linkage.csv"),
    }
    with pytest.raises(cfg.ConfigError) as err:
        cfg.build(settings)
    problems = "\n".join(err.value.problems)
    assert "two tables are named 'subjects'" in problems
    assert "expected NAME=PATH" in problems
    assert "on_missing 'hsh' is not one of fail, quarantine, hash; did you mean 'hash'?" in problems
    assert "must not be inside the spool" in problems
    inside_output = {**settings, "table": [], "on_missing": "fail", "linkage": str(tmp_path / "out" / "l.csv")}
    with pytest.raises(cfg.ConfigError, match="must not be inside the output folder"):
        cfg.build(inside_output)
    node = cfg.build({**inside_output, "table": ["t=x.db#people"], "linkage": "elsewhere/l.sqlite"})
    assert node.tables == (("t", "x.db#people"),) and node.linkage == os.path.abspath("elsewhere/l.sqlite")
