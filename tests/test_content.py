"""Clean Structured Content (``--option clean-structured-content``, ``deid_func:cleancontent``).

The basic profile's D on ContentSequence writes a dummy over every text of a structured
report, its codes included: the report stays valid, its content is lost. With the option,
the tree keeps its structure, codes and measurements; its free text, names, dates, times,
UIDREFs and observer identities are replaced; the output is as valid as its input
(dciodvfy), on pydicom's SR samples, on an SR made by highdicom and on one made here with
every value type, each carrying canary markers (tests/canary.py) where text, names, dates
and UIDs go.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import canary
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from test_validity import KEY, dciodvfy_errors, deidentify, need_dciodvfy, new_errors

import deidlang
from deidlang import cli
from deidlang.privacy import profile
from deidlang.runtime import content, keyed, keys

OPTION = "clean-structured-content"
SR_SAMPLES = ["test-SR.dcm", "reportsi.dcm", "reportsi_with_empty_number_tags.dcm"]
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
_REPLACED = ("TextValue", "PersonName", "Date", "Time", "DateTime")


def dciodvfy_warnings(path) -> list[str]:
    import subprocess

    proc = subprocess.run([need_dciodvfy(), str(path)], capture_output=True, text=True, errors="replace", timeout=300, stdin=subprocess.DEVNULL)
    return [line for line in (proc.stdout + proc.stderr).splitlines() if "Warning" in line]


def items(seq, depth=0):
    """Every content item of a tree, depth first, with its depth."""
    for item in seq or ():
        yield depth, item
        yield from items(item.get("ContentSequence"), depth + 1)


def codes_of(item: Dataset) -> list[tuple]:
    out = []
    for kw in ("ConceptNameCodeSequence", "ConceptCodeSequence"):
        for code in item.get(kw) or ():
            out.append((kw, code.get("CodeValue"), code.get("CodingSchemeDesignator"), code.get("CodeMeaning")))
    for mv in item.get("MeasuredValueSequence") or ():
        units = [(u.CodeValue, u.CodingSchemeDesignator, u.CodeMeaning) for u in mv.get("MeasurementUnitsCodeSequence") or ()]
        out.append(("measured", str(mv.get("NumericValue")), units))
    return out


def shape(ds: Dataset) -> list[tuple]:
    """What the option keeps: the tree, item by item: depth, relationship, value type,
    codes, measurements, template, coordinates, referenced SOP classes."""
    out = []
    for depth, item in items(ds.ContentSequence):
        refs = [r.ReferencedSOPClassUID for r in item.get("ReferencedSOPSequence") or ()]
        graphic = [float(v) for v in item.get("GraphicData") or ()]
        templates = [(t.get("MappingResource"), t.get("TemplateIdentifier")) for t in item.get("ContentTemplateSequence") or ()]
        out.append((depth, item.get("RelationshipType"), item.get("ValueType"), codes_of(item), refs, graphic, templates))
    return out


def _run(name: str, source: str, tmp_path: Path) -> str:
    outputs = deidentify(name, [source], tmp_path / name)
    assert source in outputs
    return outputs[source]


# --------------------------------------------------------------------------- the built-in and the table


def test_the_uids_replaced_inside_a_tree_are_the_profiles_u_rows():
    rows = {r.tag for r in profile.rows() if r.tag is not None and r.code == "U"}
    assert content.REPLACED_UIDS == rows


def test_what_a_tree_keeps_has_no_row_of_the_table():
    rows = {r.tag: r.code for r in profile.rows() if r.tag is not None}
    assert {t: rows[t] for t in content.KEPT if t in rows and rows[t] != "K"} == {}


def test_the_option_recipe_is_generated_and_checks_clean(capsys):
    text = profile.option_recipe(OPTION).read_text(encoding="utf-8")
    assert "KEEP ContentSequence deid_func:cleancontent" in text and "113104" in text
    assert cli.main(["check", "--strict", str(profile.option_recipe(OPTION))]) == 0
    capsys.readouterr()


def test_cleancontent_on_an_element_that_is_no_sequence_fails_the_file(tmp_path):
    recipe = "FORMAT dicom\n%header\nREPLACE PatientName deid_func:cleancontent\n"
    diags = deidlang.check(recipe)
    assert [d.code for d in diags] == ["W306"]  # the checker says so first
    program = keyed.bind(deidlang.compile(recipe, allow=["W306"]), KEY)
    ds = Dataset()
    ds.PatientName = "Doe^Jane"
    with pytest.raises(deidlang.ApplyError, match="cleancontent works on sequences"):
        program.apply(ds)


# --------------------------------------------------------------------------- pydicom's SR samples


@pytest.mark.parametrize("file", SR_SAMPLES)
def test_pydicom_sr_samples_keep_codes_measurements_and_structure(file, tmp_path):
    source = str(get_testdata_file(file))
    original = pydicom.dcmread(source)
    out = pydicom.dcmread(_run(OPTION, source, tmp_path))
    assert shape(out) == shape(original)
    before = dict(items(original.ContentSequence))
    pairs = list(zip(items(original.ContentSequence), items(out.ContentSequence)))
    assert pairs and len(pairs) == len(list(items(original.ContentSequence))) and before
    for (_, a), (_, b) in pairs:
        for kw in _REPLACED:
            if a.get(kw) not in (None, ""):
                assert b.get(kw) != a.get(kw), kw
        if a.get("UID"):
            assert b.UID == keys.hash_uid(KEY, a.UID)
        for ra, rb in zip(a.get("ReferencedSOPSequence") or (), b.get("ReferencedSOPSequence") or ()):
            assert rb.ReferencedSOPInstanceUID == keys.hash_uid(KEY, ra.ReferencedSOPInstanceUID)
    assert [c.CodeValue for c in out.DeidentificationMethodCodeSequence] == ["113100", "113104"]


@pytest.mark.parametrize("file", SR_SAMPLES)
def test_pydicom_sr_samples_stay_as_valid_and_lose_the_added_warnings(file, tmp_path):
    need_dciodvfy()
    source = str(get_testdata_file(file))
    with_option = _run(OPTION, source, tmp_path)
    assert new_errors(source, with_option, dciodvfy_errors(source), dciodvfy_errors(with_option)) == []
    before, after, profile_only = (len(dciodvfy_warnings(p)) for p in (source, with_option, _run("default", source, tmp_path)))
    # the profile alone adds ~10-30 warnings per file (codes written over with ANONYMOUS);
    # with the option only the profile's top-level VerifyingObserverName dummy may add one
    assert after <= before + 2 and profile_only >= after + 9, (before, after, profile_only)


# --------------------------------------------------------------------------- generated reports with canary markers


def _marks() -> tuple[canary.Corpus, canary._Builder]:
    corpus = canary.Corpus(Path("."))
    return corpus, canary._Builder("sr.dcm", canary._Counter(90000), corpus)


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    c = Dataset()
    c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = value, scheme, meaning
    return c


def _item(relationship: str, value_type: str, concept: Dataset, **values) -> Dataset:
    item = Dataset()
    item.RelationshipType = relationship
    item.ValueType = value_type
    item.ConceptNameCodeSequence = Sequence([concept])
    for k, v in values.items():
        setattr(item, k, v)
    return item


def all_value_types_sr(folder: Path) -> tuple[str, canary.Corpus]:
    """A Comprehensive SR of a CT image with every value type, observer and subject
    context, a private element inside an item, and canary markers in its text, names,
    dates, times and UIDs."""
    corpus, b = _marks()
    img = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds = Dataset()
    for kw in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "StudyDate", "StudyTime", "AccessionNumber", "StudyID"):
        setattr(ds, kw, img.get(kw, ""))
    ds.ReferringPhysicianName = ""
    ds.SOPClassUID = COMPREHENSIVE_SR
    ds.SOPInstanceUID = generate_uid()
    ds.Modality = "SR"
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.Manufacturer = "deidlang tests"
    ds.ReferencedPerformedProcedureStepSequence = Sequence()
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.ContentDate, ds.ContentTime = "20240611", "101010"
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = img.SOPClassUID, img.SOPInstanceUID
    series = Dataset()
    series.SeriesInstanceUID = img.SeriesInstanceUID
    series.ReferencedSOPSequence = Sequence([ref])
    study = Dataset()
    study.StudyInstanceUID = img.StudyInstanceUID
    study.ReferencedSeriesSequence = Sequence([series])
    ds.CurrentRequestedProcedureEvidenceSequence = Sequence([study])
    ds.PerformedProcedureCodeSequence = Sequence()
    ds.ValueType = "CONTAINER"
    ds.ContinuityOfContent = "SEPARATE"
    ds.ConceptNameCodeSequence = Sequence([_code("18748-4", "LN", "Diagnostic Imaging Report")])
    dcm = lambda v, m: _code(v, "DCM", m)  # noqa: E731
    children = [
        _item("HAS OBS CONTEXT", "CODE", dcm("121005", "Observer Type"), ConceptCodeSequence=Sequence([dcm("121006", "Person")])),
        _item("HAS OBS CONTEXT", "PNAME", dcm("121008", "Person Observer Name"), PersonName=b.value_for("PN", "observer")),
        _item("HAS OBS CONTEXT", "TEXT", dcm("121009", "Person Observer's Organization Name"), TextValue=b.value_for("UT", "organization")),
        _item("HAS OBS CONTEXT", "CODE", dcm("121005", "Observer Type"), ConceptCodeSequence=Sequence([dcm("121007", "Device")])),
        _item("HAS OBS CONTEXT", "UIDREF", dcm("121012", "Device Observer UID"), UID=b.value_for("UI", "device uid")),
        _item("HAS OBS CONTEXT", "TEXT", dcm("121013", "Device Observer Name"), TextValue=b.value_for("UT", "device name")),
        _item("HAS OBS CONTEXT", "TEXT", dcm("121016", "Device Observer Serial Number"), TextValue=b.value_for("UT", "serial")),
        _item("HAS OBS CONTEXT", "DATETIME", dcm("111526", "DateTime Started"), DateTime=b.value_for("DT", "started")),
    ]
    age = _item("HAS OBS CONTEXT", "NUM", dcm("121033", "Subject Age"))
    mv = Dataset()
    mv.NumericValue = "93"
    mv.MeasurementUnitsCodeSequence = Sequence([_code("a", "UCUM", "year")])
    age.MeasuredValueSequence = Sequence([mv])
    children.append(age)
    finding = _item("CONTAINS", "CONTAINER", dcm("121070", "Findings"), ContinuityOfContent="SEPARATE")
    num = _item("CONTAINS", "NUM", _code("81827009", "SCT", "Diameter"))
    mv2 = Dataset()
    mv2.NumericValue = "12.5"
    mv2.MeasurementUnitsCodeSequence = Sequence([_code("mm", "UCUM", "millimeter")])
    num.MeasuredValueSequence = Sequence([mv2])
    image = _item("INFERRED FROM", "IMAGE", dcm("121112", "Source of Measurement"))
    image.ReferencedSOPSequence = Sequence([ref.copy()])
    num.ContentSequence = Sequence([image])
    text = _item("CONTAINS", "TEXT", dcm("121071", "Finding"), TextValue=f"Seen by {b.value_for('UT', 'finding text')} today")
    text.add_new(0x00990010, "LO", "deidlang tests")
    text.add_new(0x00991001, "LO", b.value_for("LO", "private"))
    finding.ContentSequence = Sequence(
        [
            num,
            text,
            _item("CONTAINS", "CODE", dcm("121071", "Finding"), ConceptCodeSequence=Sequence([_code("108369006", "SCT", "Neoplasm")])),
            _item("CONTAINS", "DATE", dcm("111536", "Date of last evaluation"), Date=b.value_for("DA", "date")),
            _item("CONTAINS", "TIME", dcm("111536", "Time of last evaluation"), Time=b.value_for("TM", "time")),
            _item("CONTAINS", "PNAME", dcm("121029", "Subject Name"), PersonName=b.value_for("PN", "subject")),
        ]
    )
    children.append(finding)
    ds.ContentSequence = Sequence(children)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path = folder / "all-types-sr.dcm"
    folder.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return str(path), corpus


def highdicom_sr(folder: Path) -> tuple[str, canary.Corpus]:
    """A TID 1500 Measurement Report made by highdicom, with person and device observer
    contexts and a tracking identifier carrying canary markers."""
    hd = pytest.importorskip("highdicom")
    import numpy as np
    from pydicom.sr.codedict import codes

    corpus, b = _marks()
    img = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    person = hd.sr.ObserverContext(
        observer_type=codes.DCM.Person,
        observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
            name=b.value_for("PN", "observer"), login_name=b.value_for("LO", "login"), organization_name=b.value_for("LO", "organization")
        ),
    )
    device = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=b.value_for("UI", "device uid"),
            name=b.value_for("LO", "device name"),
            model_name=b.value_for("LO", "model"),
            serial_number=b.value_for("LO", "serial"),
        ),
    )
    region = hd.sr.ImageRegion(
        graphic_type=hd.sr.GraphicTypeValues.POINT,
        graphic_data=np.array([[10.0, 20.0]]),
        source_image=hd.sr.SourceImageForRegion(img.SOPClassUID, img.SOPInstanceUID),
    )
    group = hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=b.value_for("UI", "tracking uid"), identifier=b.value_for("LO", "tracking id")),
        referenced_region=region,
        finding_type=codes.SCT.Lesion,
        measurements=[hd.sr.Measurement(name=codes.SCT.Diameter, value=12.5, unit=codes.UCUM.Millimeter)],
        qualitative_evaluations=[hd.sr.QualitativeEvaluation(name=codes.DCM.Finding, value=codes.SCT.Neoplasm)],
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_person_context=person, observer_device_context=device),
        procedure_reported=codes.LN.CTUnspecifiedBodyRegion,
        imaging_measurements=[group],
    )
    sr = hd.sr.Comprehensive3DSR(
        evidence=[img],
        content=report,
        series_instance_uid=generate_uid(),
        series_number=10,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="deidlang tests",
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "highdicom-sr.dcm"
    sr.save_as(path)
    return str(path), corpus


def _markers_left(path: str, corpus: canary.Corpus) -> list[str]:
    data = Path(path).read_bytes().decode("latin-1")
    strong = canary.find_markers(data, corpus.strong_texts)
    ds = pydicom.dcmread(path)
    weak = {(m.vr, m.value) for m in corpus.markers if not m.strong}
    seen = [(e.VR, v) for _uid, e in canary.walk(ds) for v in canary.element_values(e)]
    return strong + [f"{vr} {v}" for vr, v in seen if (vr, v) in weak]


@pytest.mark.parametrize("make", [all_value_types_sr, highdicom_sr], ids=["every-value-type", "highdicom-tid1500"])
def test_generated_reports_lose_every_marker_and_keep_their_content(make, tmp_path):
    source, corpus = make(tmp_path / "in")
    assert len(_markers_left(source, corpus)) >= 8  # the markers are there to be found
    original = pydicom.dcmread(source)
    output = _run(OPTION, source, tmp_path)
    assert _markers_left(output, corpus) == []
    out = pydicom.dcmread(output)
    kept, was = shape(out), shape(original)
    assert [s[:3] for s in kept] == [s[:3] for s in was]  # the tree
    ages = [i for _, i in items(original.ContentSequence) if codes_of(i) and codes_of(i)[0][1] == "121033"]
    for (_, a), (_, b) in zip(items(original.ContentSequence), items(out.ContentSequence)):
        if a in ages:
            assert list(b.MeasuredValueSequence) == []  # a subject's age identifies: Type 2, left empty
        else:
            assert codes_of(b) == codes_of(a)
        if a.get("UID"):
            assert b.UID == keys.hash_uid(KEY, a.UID)
    evidence = out.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    referenced = [r.ReferencedSOPInstanceUID for _, i in items(out.ContentSequence) for r in i.get("ReferencedSOPSequence") or ()]
    assert referenced and set(referenced) == {evidence.ReferencedSOPInstanceUID}  # the content's references follow the evidence
    if need_dciodvfy():
        assert new_errors(source, output, dciodvfy_errors(source), dciodvfy_errors(output)) == []


def test_without_the_option_the_profile_writes_over_the_codes(tmp_path):
    """What the option is for: the basic profile alone keeps no marker either, and no code."""
    source, corpus = all_value_types_sr(tmp_path / "in")
    out = pydicom.dcmread(_run("default", source, tmp_path))
    assert _markers_left(str(tmp_path / "default" / "0000.dcm"), corpus) == []
    meanings = {c[3] for _, i in items(out.ContentSequence) for c in codes_of(i) if len(c) == 4}
    assert meanings == {"ANONYMOUS"}


# --------------------------------------------------------------------------- composition and protection


def test_acquisition_context_content_items_are_cleaned_too(tmp_path):
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.AcquisitionContextSequence = Sequence(
        [
            _item("", "TEXT", _code("121106", "DCM", "Comment"), TextValue="Operator Jane Roe"),
            _item("", "NUM", _code("111685", "DCM", "Contrast volume")),
        ]
    )
    del ds.AcquisitionContextSequence[0].RelationshipType
    del ds.AcquisitionContextSequence[1].RelationshipType
    source = tmp_path / "acq.dcm"
    ds.save_as(source, enforce_file_format=True)
    out = pydicom.dcmread(_run(OPTION, str(source), tmp_path)).AcquisitionContextSequence
    assert out[0].TextValue == "ANONYMOUS" and out[0].ConceptNameCodeSequence[0].CodeMeaning == "Comment"
    assert out[1].ConceptNameCodeSequence[0].CodeValue == "111685"
    default = pydicom.dcmread(_run("default", str(source), tmp_path))
    assert not default.AcquisitionContextSequence  # the profile's X/Z: emptied


def test_retain_uids_keeps_the_uids_inside_the_tree(tmp_path):
    source = str(get_testdata_file("test-SR.dcm"))
    original = pydicom.dcmread(source)
    programs = [keyed.bind(p, KEY) for p in _chain(profile.option_recipe("retain-uids"), profile.option_recipe(OPTION), profile.default_recipe())]
    ds = pydicom.dcmread(source)
    for p in programs:
        p.apply(ds)
    was = [r.ReferencedSOPInstanceUID for _, i in items(original.ContentSequence) for r in i.get("ReferencedSOPSequence") or ()]
    now = [r.ReferencedSOPInstanceUID for _, i in items(ds.ContentSequence) for r in i.get("ReferencedSOPSequence") or ()]
    assert was and now == was  # retain-uids KEEPs ReferencedSOPInstanceUID wherever it is
    # the table gives the UIDREF's UID row no retain-uids column: the profile replaces it, and so does the option
    assert [i.UID for _, i in items(ds.ContentSequence) if "UID" in i] == [keys.hash_uid(KEY, i.UID) for _, i in items(original.ContentSequence) if "UID" in i]
    assert [t for _, i in items(ds.ContentSequence) for t in [i.get("TextValue")] if t] == ["ANONYMOUS"] * len(
        [1 for _, i in items(original.ContentSequence) if i.get("TextValue")]
    )


def _chain(*paths):
    from deidlang.runtime import extras

    return extras.chain([deidlang.load(str(p)) for p in paths])


def test_keep_of_a_sequence_with_a_built_in_changes_what_is_inside():
    """Was: ``KEEP X deid_func:dummy`` on a sequence changed nothing inside it (the KEEP
    itself hid every element inside from the built-in)."""
    ds = pydicom.dcmread(get_testdata_file("test-SR.dcm"))
    program = keyed.bind(deidlang.compile("FORMAT dicom\n%header\nKEEP ContentSequence deid_func:dummy\n"), KEY)
    program.apply(ds)
    meanings = {c.CodeMeaning for _, i in items(ds.ContentSequence) for c in i.get("ConceptNameCodeSequence") or ()}
    assert meanings == {"ANONYMOUS"}


def test_each_nested_tree_is_cleaned_once():
    """KEEP ContentSequence selects the nested ContentSequences too: a UID deep in the tree
    is hashed once, as the profile hashes it elsewhere, not once per enclosing sequence."""
    ds = pydicom.dcmread(get_testdata_file("test-SR.dcm"))
    original = pydicom.dcmread(get_testdata_file("test-SR.dcm"))
    program = keyed.bind(deidlang.compile("FORMAT dicom\n%header\nKEEP ContentSequence deid_func:cleancontent\n"), KEY)
    program.apply(ds)
    deep = [(a, b) for (d, a), (_, b) in zip(items(original.ContentSequence), items(ds.ContentSequence)) if d >= 1 and "ReferencedSOPSequence" in a]
    assert deep
    for a, b in deep:
        assert b.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == keys.hash_uid(KEY, a.ReferencedSOPSequence[0].ReferencedSOPInstanceUID)


# --------------------------------------------------------------------------- deidc run and verify


def test_run_and_verify_on_the_sr_samples(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    for file in SR_SAMPLES:
        (src / file).write_bytes(Path(get_testdata_file(file)).read_bytes())
    all_value_types_sr(src)
    out = tmp_path / "out"
    key = tmp_path / "key"
    key.write_text("k" * 40, encoding="utf-8")
    code = cli.main(["run", "--input", str(src), "--output", str(out), "--option", OPTION, "--key-file", str(key), "--verify", "--jobs", "1"])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    code = cli.main(["verify", "--original", str(src), "--deidentified", str(out), "--format", "json", "--key-file", str(key)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    report = json.loads(printed.out)
    assert report["leaks"] == [] and report["files"] == len(SR_SAMPLES) + 1


def test_explain_names_the_option_line(tmp_path, capsys):
    """Was: a change made by ``KEEP X deid_func:...`` (the options' retained dates too) was
    explained as "not changed by a recipe line"."""
    source = str(get_testdata_file("test-SR.dcm"))
    assert cli.main(["explain", "--option", OPTION, source, "--key-file", _key(tmp_path), "--format", "json"]) == 0
    elements = json.loads(capsys.readouterr().out)["elements"]
    texts = [e for e in elements if e["keyword"] == "TextValue"]
    assert texts and all(e["outcome"] == "changed" and e["decided_by"]["text"] == "KEEP ContentSequence deid_func:cleancontent" for e in texts)


def _key(tmp_path: Path) -> str:
    key = tmp_path / "key"
    key.write_text("k" * 40, encoding="utf-8")
    return str(key)


def test_the_bytes_written_read_back(tmp_path):
    source, _ = all_value_types_sr(tmp_path / "in")
    output = _run(OPTION, source, tmp_path)
    ds = pydicom.dcmread(io.BytesIO(Path(output).read_bytes()))
    assert ds.SOPClassUID == COMPREHENSIVE_SR
