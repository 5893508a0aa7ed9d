"""Outputs as valid as their inputs.

David Clunie's validator ``dciodvfy`` (Debian package ``dicom3tools``) reads
a DICOM file and prints what is wrong with it against the IOD its SOP class
names. Here it reads every original and every output of the bundled recipe
(alone, and with each bundled option) on pydicom's and deid-data's readable
files: an output may carry the errors of its original, never one of its own.

The comparison is of error lines, normalised so that the values deidlang
replaces (UIDs, values quoted in a message, byte offsets and lengths of
elements dciodvfy could not identify) do not make differences of their own;
the element, the module and the kind of error stay.

dciodvfy is required in CI (.ci/run installs it): there a missing dciodvfy
fails these tests instead of skipping them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import corpus
import pydicom
import pytest
from pydicom.uid import DeflatedExplicitVRLittleEndian

import deidlang
from deidlang import engine
from deidlang.privacy import profile
from deidlang.runtime import extras, keyed, keys

DCIODVFY = shutil.which("dciodvfy")
BUNDLED = [o.name for o in profile.OPTIONS if o.recipe]
RECIPES = ["default", *BUNDLED]
KEY = keys.key_from_text("validity-test-key-0123456789abcdef", "test")
WORKERS = min(8, 2 * (os.cpu_count() or 1))


def need_dciodvfy() -> str:
    if DCIODVFY is None:
        if os.environ.get("CI"):
            pytest.fail("dciodvfy is missing: CI must install the Debian package dicom3tools (.ci/run does)")
        pytest.skip("dciodvfy is not installed (apt-get install dicom3tools)")
    return DCIODVFY


# --------------------------------------------------------------------------- dciodvfy


def dciodvfy_errors(path: str | os.PathLike) -> list[str]:
    """The error lines dciodvfy prints for one file (its warnings are left out)."""
    proc = subprocess.run([need_dciodvfy(), os.fspath(path)], capture_output=True, text=True, errors="replace", timeout=300, stdin=subprocess.DEVNULL)
    lines = [line.strip() for line in (proc.stdout + proc.stderr).splitlines() if "Error" in line]
    if proc.returncode < 0:  # it stops on a failed assertion for some files (rtdose.dcm): that counts too
        lines.append(f"dciodvfy crashed (signal {-proc.returncode})")
    return lines


def errors_of(paths: Iterable[str]) -> dict[str, list[str]]:
    """dciodvfy's error lines for many files, run in a thread pool (one process per file)."""
    paths = list(paths)
    with ThreadPoolExecutor(WORKERS) as pool:
        return dict(zip(paths, pool.map(dciodvfy_errors, paths)))


_UNKNOWN_TAG = re.compile(r"^\(0x[0-9a-fA-F]{4},0x[0-9a-fA-F]{4}\)\s+\?")  # an element dciodvfy could not identify
_QUOTED = re.compile(r"(=|value) <[^>]*>?")  # "[1] = <value>", "enumerated value <value>"
_CHARACTER = re.compile(r"= '[^']*' \((?:0x)?[0-9a-fA-F]+\)")  # "Character invalid for this VR = 'x' (0x78)"
_LENGTH = re.compile(r"VL is 0x[0-9a-fA-F]+ should be 0x[0-9a-fA-F]+")
_VALUES = re.compile(r"values are \S+")
_REFERENCED = re.compile(r"(ReferencedSOPInstanceUID) \S+")
_UID = re.compile(r"\b\d+(?:\.\d+)+\b")


def normal(line: str) -> str:
    """An error line with its values and offsets replaced by placeholders."""
    line = _UNKNOWN_TAG.sub("(tag) ?", line.strip())
    line = _QUOTED.sub(r"\1 <value>", line)
    line = _CHARACTER.sub("= 'c'", line)
    line = _LENGTH.sub("VL is L should be L", line)
    line = _VALUES.sub("values are V", line)
    line = _REFERENCED.sub(r"\1 UID", line)
    return _UID.sub("UID", line)


#: what dciodvfy computes PixelData's expected length from
_PIXEL_DESCRIPTION = ("Rows", "Columns", "BitsAllocated", "SamplesPerPixel", "NumberOfFrames", "PixelData")
_PIXEL_LENGTH = "PixelData has incorrect value length"


def _pixels_unchanged(original: str, output: str) -> bool:
    def described(path: str) -> tuple:
        ds = pydicom.dcmread(path, force=True)
        return tuple(ds.get(k) for k in _PIXEL_DESCRIPTION)

    return described(original) == described(output)


def new_errors(original: str, output: str, original_errors: Sequence[str], output_errors: Sequence[str]) -> list[str]:
    """The normalised error lines of ``output`` that ``original`` does not have.

    dciodvfy stops reading a data set at the first element it cannot parse (a
    malformed private sequence, say), and says nothing of what follows; once
    deidlang has removed that element it reads on. A PixelData length error
    is therefore the original's when PixelData and every attribute its length
    is computed from are the same in both files."""
    had = {normal(line) for line in original_errors}
    found = [normal(line) for line in output_errors if normal(line) not in had]
    if any(_PIXEL_LENGTH in line for line in found) and _pixels_unchanged(original, output):
        found = [line for line in found if _PIXEL_LENGTH not in line]
    return sorted(set(found))


# --------------------------------------------------------------------------- the sample files


def _pydicom_files() -> list[Path]:
    import pydicom.data

    base = Path(pydicom.data.__file__).parent
    skip = {".py", ".pyc", ".json", ".txt", ".md", ".dump", ".icc", ".gz", ".zip"}
    return sorted(p for p in base.rglob("*") if p.is_file() and p.suffix.lower() not in skip and "__pycache__" not in p.parts)


def _deid_data_files() -> list[Path]:
    base = corpus.deid_data_base()
    return sorted(base.rglob("*.dcm")) if base is not None else []


def _deflated(path: Path) -> bool:
    """dciodvfy does not inflate a deflated data set: it reads the compressed bytes as elements."""
    try:
        meta = pydicom.dcmread(path, force=True, stop_before_pixels=True).file_meta
    except Exception:  # noqa: BLE001 - unreadable: deidlang says so and writes nothing
        return False
    return meta.get("TransferSyntaxUID") == DeflatedExplicitVRLittleEndian


@lru_cache(maxsize=None)
def sample_files() -> tuple[str, ...]:
    files = [*_pydicom_files(), *_deid_data_files()]
    return tuple(str(p) for p in files if not _deflated(p))


@lru_cache(maxsize=None)
def original_errors() -> dict[str, list[str]]:
    return errors_of(sample_files())


def _programs(name: str) -> list:
    """As ``deidc run [--option NAME]`` composes them: earlier KEEPs protect, keyed built-ins get a key."""
    paths = ([profile.option_recipe(name)] if name != "default" else []) + [profile.default_recipe()]
    return [keyed.bind(p, KEY) for p in extras.chain([deidlang.load(p) for p in paths])]


def deidentify(name: str, sources: Sequence[str], folder: Path) -> dict[str, str]:
    """Run the bundled recipe (with option ``name``) as ``deidc run --force`` does:
    ``{source: output}`` for every file written."""
    folder.mkdir(parents=True, exist_ok=True)
    tasks = [engine.Task(source=s, target=str(folder / f"{i:04d}.dcm"), display=os.path.basename(s)) for i, s in enumerate(sources)]
    options = engine.Options(force=True, remove_private=name != "retain-safe-private", output=str(folder))
    results = engine.execute(tasks, _programs(name), None, None, options, jobs=1)
    return {t.source: r.output for t, r in zip(tasks, results) if r.status == "written"}


# --------------------------------------------------------------------------- the comparison


def test_normalised_lines_keep_the_element_and_drop_the_values():
    a = "Error - Value invalid for this VR - (0x0008,0x1155) UI Referenced SOP Instance UID  UI [1] = <1.2.3> - Leading zeroes"
    b = "Error - Value invalid for this VR - (0x0008,0x1155) UI Referenced SOP Instance UID  UI [1] = <2.25.99> - Leading zeroes"
    assert normal(a) == normal(b)
    assert normal("Error - StudyInstanceUID has same value as FrameOfReferenceUID <1.2.3.4>") == normal(
        "Error - StudyInstanceUID has same value as FrameOfReferenceUID <2.25.1234>"
    )
    assert normal("(0xdded,0x6ecf)  ?  - Error - Bad Value Length - not a multiple of 2 - VL is 0xc715d71b should be 0xc715d71c") == normal(
        "(0xdded,0x8ecb)  ?  - Error - Bad Value Length - not a multiple of 2 - VL is 0xc615d71b should be 0xc615d71c"
    )
    person = "Error - Missing attribute Type 2C Conditional Element=<ResponsiblePerson> Module=<Patient>"
    organization = "Error - Missing attribute Type 2C Conditional Element=<ResponsibleOrganization> Module=<Patient>"
    assert normal(person) != normal(organization)
    assert normal("Error - Missing attribute Type 1 Required Element=<OverlayData> Module=<OverlayPlane>") != normal(
        "Error - Missing attribute Type 1 Required Element=<OverlayRows> Module=<OverlayPlane>"
    )


@pytest.mark.parametrize("name", RECIPES)
def test_no_output_has_an_error_its_original_does_not_have(name, tmp_path):
    need_dciodvfy()
    sources = sample_files()
    outputs = deidentify(name, sources, tmp_path)
    assert len(outputs) >= 150, f"only {len(outputs)} of {len(sources)} sample files were written"
    before = original_errors()
    after = errors_of(outputs.values())
    found = {}
    for source, output in outputs.items():
        new = new_errors(source, output, before[source], after[output])
        if new:
            found[os.path.relpath(source, os.path.dirname(os.path.dirname(source)))] = new
    listed = "\n".join(f"  {file}: {line}" for file, lines in sorted(found.items()) for line in lines)
    assert not found, f"{len(found)} of {len(outputs)} outputs of {name} have errors their originals do not have:\n{listed}"


# --------------------------------------------------------------------------- the errors seen, one by one


def _deid_data(sub: str, file: str) -> str:
    base = corpus.deid_data_base()
    if base is None or not (base / sub / file).is_file():
        pytest.skip("deid-data is not installed")
    return str(base / sub / file)


def _pydicom(file: str) -> str:
    from pydicom.data import get_testdata_file

    return str(get_testdata_file(file))


def _one(name: str, source: str, tmp_path: Path) -> str:
    outputs = deidentify(name, [source], tmp_path / name)
    assert source in outputs
    return outputs[source]


def _matching(lines: Iterable[str], pattern: str) -> list[str]:
    return [line for line in lines if re.search(pattern, line)]


@pytest.mark.parametrize("file", ["ctbrain1.dcm", "ctbrain2.dcm"])
def test_referenced_study_sequence_is_removed_not_left_empty(file, tmp_path):
    need_dciodvfy()
    source = _deid_data("humans", file)
    assert len(pydicom.dcmread(source).ReferencedStudySequence) == 1
    output = _one("default", source, tmp_path)
    assert "ReferencedStudySequence" not in pydicom.dcmread(output)
    assert _matching(dciodvfy_errors(output), r"ReferencedStudySequence") == []
    kept = pydicom.dcmread(_one("retain-uids", source, tmp_path))  # the option keeps it whole
    assert len(kept.ReferencedStudySequence) == 1 and kept.ReferencedStudySequence[0].ReferencedSOPInstanceUID


def test_an_overlay_group_goes_whole(tmp_path):
    need_dciodvfy()
    source = _pydicom("examples_overlay.dcm")
    assert any(e.tag.group == 0x6000 for e in pydicom.dcmread(source))
    for name in ("default", "clean-descriptors"):
        output = _one(name, source, tmp_path)
        ds = pydicom.dcmread(output)
        assert [e.tag for e in ds if 0x6000 <= e.tag.group <= 0x601E] == []
        assert _matching(dciodvfy_errors(output), r"OverlayPlane|Overlay") == []


def test_responsible_person_and_organization_of_an_animal_are_emptied(tmp_path):
    need_dciodvfy()
    source = _deid_data("animals", "cat.dcm")
    original = pydicom.dcmread(source, stop_before_pixels=True)
    assert original.PatientSpeciesDescription and "ResponsiblePerson" in original and "ResponsibleOrganization" in original
    output = _one("default", source, tmp_path)
    ds = pydicom.dcmread(output, stop_before_pixels=True)
    assert "ResponsiblePerson" in ds and not ds.ResponsiblePerson  # Type 2C: present, empty
    assert "ResponsibleOrganization" in ds and not ds.ResponsibleOrganization
    assert _matching(dciodvfy_errors(output), r"Responsible") == []


@pytest.mark.parametrize("file", ["meta_missing_tsyntax.dcm", "nested_priv_SQ.dcm"])
def test_a_file_dciodvfy_could_not_read_whole(file, tmp_path):
    """dciodvfy stops at these originals' malformed private sequence; the outputs,
    without it, are read to the end. Their 2-byte PixelData, with no Rows or
    Columns to describe it, is the original's, byte for byte."""
    need_dciodvfy()
    source = _pydicom(file)
    output = _one("default", source, tmp_path)
    assert pydicom.dcmread(output).PixelData == pydicom.dcmread(source).PixelData
    written = pydicom.dcmread(output)
    assert written.file_meta.TransferSyntaxUID == pydicom.uid.ImplicitVRLittleEndian  # says how it is encoded
    assert new_errors(source, output, dciodvfy_errors(source), dciodvfy_errors(output)) == []


def test_a_file_without_a_transfer_syntax_is_written_with_one(tmp_path):
    need_dciodvfy()
    source = _pydicom("meta_missing_tsyntax.dcm")
    assert "TransferSyntaxUID" not in pydicom.dcmread(source).file_meta
    output = _one("default", source, tmp_path)
    assert "TransferSyntaxUID" in pydicom.dcmread(output).file_meta
    assert _matching(dciodvfy_errors(output), r"Transfer Syntax") == []


@pytest.mark.parametrize("file", ["rtplan.dcm", "chrJapMulti.dcm", "chrJapMultiExplicitIR6.dcm"])
@pytest.mark.parametrize("name", ["default", "retain-uids"])
def test_file_meta_agrees_with_the_data_set(file, name, tmp_path):
    """These originals' MediaStorageSOPInstanceUID differs from their SOPInstanceUID;
    a tool that rewrites both makes them agree."""
    need_dciodvfy()
    from pydicom.data import get_charset_files

    source = _pydicom(file) if not file.startswith("chr") else str(get_charset_files(file)[0])
    original = pydicom.dcmread(source)
    assert original.file_meta.MediaStorageSOPInstanceUID != original.SOPInstanceUID
    assert _matching(dciodvfy_errors(source), r"MediaStorageSOPInstanceUID different")
    ds = pydicom.dcmread(_one(name, source, tmp_path))
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert ds.file_meta.MediaStorageSOPClassUID == ds.SOPClassUID
    assert _matching(dciodvfy_errors(_one(name, source, tmp_path / "again")), r"MediaStorage") == []


def test_file_meta_gets_the_sop_class_it_lacks(tmp_path):
    ds = corpus.build_s()
    del ds.file_meta.MediaStorageSOPClassUID
    source = tmp_path / "no-class.dcm"
    ds.save_as(source, enforce_file_format=False)
    out = pydicom.dcmread(_one("default", str(source), tmp_path))
    assert out.file_meta.MediaStorageSOPClassUID == out.SOPClassUID
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID


def test_a_scrubbed_value_that_was_all_identifying_becomes_a_dummy(tmp_path):
    """clean-descriptors once kept RequestAttributesSequence and scrubbed it: a
    RequestedProcedureID that is the accession number was left empty where it is Type
    1C. The option now leaves that sequence to the basic profile (it held IDs, UIDs and
    dates that scrubbing missed), so no item is left to hold an emptied ID."""
    need_dciodvfy()
    source = _deid_data("humans", "ctbrain1.dcm")
    original = pydicom.dcmread(source, stop_before_pixels=True)
    item = original.RequestAttributesSequence[0]
    assert item.RequestedProcedureID == original.AccessionNumber
    output = _one("clean-descriptors", source, tmp_path)
    written = pydicom.dcmread(output, stop_before_pixels=True)
    for out in written.get("RequestAttributesSequence") or []:
        assert out.RequestedProcedureID and out.ScheduledProcedureStepID
        assert original.AccessionNumber not in (out.RequestedProcedureID, out.ScheduledProcedureStepID)
    assert _matching(dciodvfy_errors(output), r"RequestedProcedureID|ScheduledProcedureStepID") == []


def test_a_type_1_label_scrubbed_to_nothing_keeps_a_value(tmp_path):
    need_dciodvfy()
    source = _pydicom("rtstruct.dcm")
    original = pydicom.dcmread(source, force=True)
    assert original.StructureSetLabel == original.StudyID  # wholly identifying: scrub removes it all
    output = _one("clean-descriptors", source, tmp_path)
    label = pydicom.dcmread(output, force=True).StructureSetLabel
    assert label and original.StudyID not in label
    assert _matching(dciodvfy_errors(output), r"StructureSetLabel") == []


def test_compat_saves_file_meta_that_agrees(tmp_path):
    from deidlang import compat

    source = _pydicom("rtplan.dcm")
    recipe = tmp_path / "blank.dicom"
    recipe.write_text("FORMAT dicom\n\n%header\n\nBLANK PatientName\n", encoding="utf-8")
    (written,) = compat.replace_identifiers([source], deid=str(recipe), save=True, output_folder=str(tmp_path / "out"))
    ds = pydicom.dcmread(written)
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID == pydicom.dcmread(source).SOPInstanceUID
    (returned,) = compat.replace_identifiers([source], deid=str(recipe))  # not saved: left as the recipe made it
    assert returned.file_meta.MediaStorageSOPInstanceUID != returned.SOPInstanceUID
