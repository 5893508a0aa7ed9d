"""``deidlang.compat.DicomParser`` and the helpers deid's tests import.

The differential tests run deid 0.4.13's ``DicomParser`` and deidlang's on the
same recipe and file and compare what ``parse()`` leaves: the dataset (every
element, at every depth), the ``%values``/``%fields`` groups in ``lookup``,
the uids in ``fields``, and what ``find_by_name`` finds. The other tests
check the members one by one, without deid.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402

import deidlang  # noqa: E402
from deidlang.compat import (  # noqa: E402
    DeidRecipe,
    DicomField,
    DicomParser,
    FieldsWithLookups,
    dicom_utils,  # noqa: E402
    get_fields_with_lookup,
    get_tag,
    utils,
)

HERE = Path(__file__).resolve().parent
CT = get_testdata_file("CT_small.dcm")


def _recipe(text: str) -> DeidRecipe:
    return DeidRecipe({"format": "dicom", **_sections(text)}, allow=("W413",))


def _sections(text: str) -> dict:
    from deidlang.compat.recipe import deid_dict
    from deidlang.lang.parser import parse

    d = deid_dict(parse(text))
    return {k: v for k, v in d.items() if k != "format"}


# --------------------------------------------------------------------------- members, without deid


class TestParser:
    def test_parse_applies_the_recipe_in_place(self):
        ds = pydicom.dcmread(CT)
        parser = DicomParser(ds, recipe=_recipe("%header\nREPLACE PatientName ANON\nREMOVE PatientID\n"))
        assert parser.dicom is ds and parser.fields == {}
        parser.parse()
        assert str(ds.PatientName) == "ANON" and "PatientID" not in ds
        assert isinstance(parser.fields, FieldsWithLookups)
        assert "(0010,0010)" in parser.fields and "(0010,0020)" not in parser.fields

    def test_path_attributes(self):
        parser = DicomParser(CT, recipe=_recipe("%header\nKEEP PatientName\n"))
        assert parser.dicom_file == os.path.abspath(CT) and parser.dicom_name == "CT_small.dcm"
        assert str(parser) == "[dicom-parser:CT_small.dcm]"
        assert parser.dicom.filename == CT or os.path.abspath(parser.dicom.filename) == os.path.abspath(CT)

    def test_missing_file_raises(self, tmp_path):
        with pytest.raises(deidlang.DeidlangError, match="no such file"):
            DicomParser(str(tmp_path / "nope.dcm"), recipe=_recipe("%header\nKEEP PatientName\n"))

    def test_define_gives_functions_and_variables(self):
        calls = []

        def spy(dicom, value, field, item):
            calls.append(field.name)
            return "FROM-FUNC"

        parser = DicomParser(CT, recipe=_recipe("%header\nREPLACE PatientName func:spy\nREPLACE PatientID var:pid\n"))
        parser.define("spy", spy)
        parser.define("pid", "P-1")
        parser.parse()
        assert str(parser.dicom.PatientName) == "FROM-FUNC" and parser.dicom.PatientID == "P-1"
        assert calls == ["PatientName"]

    def test_groups_go_into_lookup(self):
        text = (
            "%values names\nSPLIT PatientName by=^;minlength=1\n%fields ids\nFIELD PatientID\nFIELD StudyID\n%header\nREMOVE fields:ids\nBLANK values:names\n"
        )
        parser = DicomParser(CT, recipe=_recipe(text))
        before = pydicom.dcmread(CT)
        parser.parse()
        assert parser.lookup["names"] == str(before.PatientName).split("^")
        assert {"(0010,0020)", "(0020,0010)"} <= set(parser.lookup["ids"])
        assert all(u.endswith(("(0010,0020)", "(0020,0010)")) for u in parser.lookup["ids"])
        assert all(isinstance(f, DicomField) for f in parser.lookup["ids"].values())
        assert parser.lookup["ids"]["(0010,0020)"].element.value == before.PatientID  # taken before the actions
        assert "PatientID" not in parser.dicom and "StudyID" not in parser.dicom

    def test_perform_action_runs_one_line(self):
        parser = DicomParser(CT, recipe=_recipe("%fields f\nFIELD PatientID\n%header\nKEEP Modality\n"))
        parser.perform_action("PatientName", "X", "REPLACE")
        assert str(parser.dicom.PatientName) == "X"
        parser.perform_action("fields:f", None, "REMOVE")
        assert "PatientID" not in parser.dicom
        parser.perform_action("PatientIdentityRemoved", "YES", "add")
        assert parser.dicom.PatientIdentityRemoved == "YES"
        with pytest.raises(deidlang.DeidlangError, match="unknown action"):
            parser.perform_action("PatientName", None, "SCRUB")
        with pytest.raises(deidlang.DeidlangError, match="field expression"):
            parser.perform_action(parser.get_fields()["(0010,0010)"], None, "REMOVE")

    def test_one_field_helpers(self):
        ds = pydicom.Dataset()
        ds.PatientName = "A^B"
        item = pydicom.Dataset()
        item.ReferencedSOPInstanceUID = "1.2.3"
        item.ReferencedSOPClassUID = "1.2"
        ds.ReferencedImageSequence = [item]
        parser = DicomParser(ds, recipe=_recipe("%header\nKEEP Modality\n"))
        fields = parser.get_fields()
        nested = fields["(0008,1140)__0__(0008,1155)"]
        parent, tag = parser.get_nested_field(nested, return_parent=True)
        assert parent is item and tag == 0x00081155
        assert parser.get_child_fields(fields["(0008,1140)"]) == ["(0008,1140)__0__(0008,1150)", "(0008,1140)__0__(0008,1155)"]
        parser.replace_field(nested, "9.8.7")
        assert item.ReferencedSOPInstanceUID == "9.8.7"
        parser.blank_field(parser.get_fields()["(0010,0010)"])
        assert ds.PatientName in (None, "")
        parser.delete_field(parser.get_fields()["(0008,1140)"])
        assert "ReferencedImageSequence" not in ds and not [u for u in parser.get_fields() if u.startswith("(0008,1140)")]
        with pytest.raises(deidlang.DeidlangError, match="no longer in the dataset"):
            parser.add_field(nested, "1")

    def test_skip_keep_and_exclusions(self):
        parser = DicomParser(CT, recipe=_recipe("%header\nKEEP PatientName\nREPLACE PatientID x\nJITTER StudyDate 1\nREMOVE ALL\n"))
        assert "PixelData" in parser.skip
        assert parser.keep == ["(0010,0010)"]
        assert "(0010,0010)" not in parser.get_fields()  # what KEEP selects is not acted on, as in deid
        assert parser.excluded_from_deletion == ["StudyDate", "PatientID"]  # JITTER lines first, as in deid
        assert DicomParser(CT, recipe=_recipe("%header\nKEEP PatientName\n"), disable_skip=True).skip == []

    def test_find_by_name_and_values(self):
        parser = DicomParser(CT, recipe=_recipe("%header\nKEEP Modality\n"))
        parser.get_fields()
        assert "(0010,0010)" in parser.find_by_name("PatientName")
        assert "(0010,0010)" in parser.find_by_name("patient's name")
        value = str(parser.dicom.PatientName)
        assert "(0010,0010)" in parser.find_by_values([value.lower()])
        assert parser.find_by_values([]) == {}
        assert parser.find_by_values(["(unbalanced"]) == {}  # literal text, not a pattern

    def test_save(self, tmp_path):
        parser = DicomParser(CT, recipe=_recipe("%header\nREPLACE PatientName ANON\n"))
        parser.parse()
        out = parser.save(str(tmp_path / "sub" / "out.dcm"))
        assert str(pydicom.dcmread(out).PatientName) == "ANON"
        with pytest.warns(UserWarning, match="already exists"):
            parser.save(out)
        parser.reset_preamble()
        assert parser.dicom.preamble == b"\0" * 128

    def test_config(self, tmp_path):
        config = tmp_path / "config.json"
        config.write_text(
            json.dumps({"get": {"skip": ["PatientName"]}, "put": {"actions": [{"action": "ADD", "field": "PatientIdentityRemoved", "value": "YES"}]}})
        )
        parser = DicomParser(CT, recipe=_recipe("%header\nREMOVE contains:Patient\n"), config=str(config))
        parser.parse()
        assert "PatientName" in parser.dicom and "PatientID" not in parser.dicom
        assert parser.dicom.PatientIdentityRemoved == "YES"
        with pytest.raises(deidlang.DeidlangError, match="cannot find config"):
            DicomParser(CT, config=str(tmp_path / "none.json"))


class TestLookup:
    def test_tables_and_exact_matches(self):
        ds = pydicom.dcmread(get_testdata_file("priv_SQ.dcm"))
        fields = get_fields_with_lookup(ds)
        assert len(fields) == len(list(fields)) > 0
        for uid, f in fields.items():
            assert f in fields.get_exact_matches(uid.upper())
            assert f in fields.get_exact_matches(f.stripped_tag)
        top = pydicom.dcmread(CT)
        fields = get_fields_with_lookup(top, skip=["PixelData"])
        assert {f.uid for f in fields.get_exact_matches("patientname")} == {"(0010,0010)"}  # by name and keyword: twice, as in deid
        assert "(7FE0,0010)" not in fields
        fields.remove("(0010,0010)")
        assert fields.get_exact_matches("PatientName") == [] and "(0010,0010)" not in fields
        fields.add("(0010,0010)", DicomField(top["PatientName"], "PatientName", "(0010,0010)"))
        assert [f.uid for f in fields.get_exact_matches("(0010,0010)")] == ["(0010,0010)"] * 2  # tag and uid
        assert not get_fields_with_lookup(top, seen=list(get_fields_with_lookup(top)))

    def test_get_tag(self):
        assert get_tag("Modality") == {"tag": 0x00080060, "VR": "CS", "VM": "1", "keyword": "Modality", "name": "Modality"}
        assert get_tag("KleenexTissue") is None and get_tag("") is None and get_tag("modality") is None


class TestUtils:
    def test_files(self, tmp_path):
        path = str(tmp_path / "a" / "x.json")
        assert utils.write_json({"a": [1, True]}, path) == path
        assert utils.read_json(path) == {"a": [1, True]}
        with pytest.raises(TypeError):
            utils.write_json({"a": {1j}}, str(tmp_path / "bad.json"))
        assert not (tmp_path / "bad.json").exists()
        utils.write_file(str(tmp_path / "t.txt"), "one\ntwo\n")
        assert utils.read_file(str(tmp_path / "t.txt")) == ["one\n", "two\n"]
        assert sorted(os.path.basename(p) for p in utils.recursive_find(str(tmp_path), "*.json")) == ["x.json"]

    def test_names_and_numbers(self):
        name = utils.get_temporary_name(prefix="clean", ext="dcm")
        assert "deid-clean-" in name and name.endswith(".dcm") and not os.path.exists(name)
        assert os.path.isfile(os.path.join(utils.get_installdir(), "__init__.py"))
        assert utils.to_int("3.7") == 3 and utils.to_int(4) == 4
        assert utils.is_number(1.5) and not utils.is_number("1")

    def test_dicom_utils(self, tmp_path):
        ds = dicom_utils.dcmread(CT)
        assert dicom_utils.load_dicom(ds) is ds
        out = dicom_utils.save_dicom(ds, "/somewhere/else/name.dcm", output_folder=str(tmp_path / "new"))
        assert out == str(tmp_path / "new" / "name.dcm") and os.path.isfile(out)
        with pytest.warns(UserWarning):
            dicom_utils.save_dicom(ds, out, output_folder=str(tmp_path / "new"))


# --------------------------------------------------------------------------- against deid 0.4.13


deid_parser = None
try:  # the differential half needs deid 0.4.13
    os.environ.setdefault("MESSAGELEVEL", "-10")
    import deid.config as deid_config
    import deid.dicom.parser as deid_parser
    import deid.logger

    deid.logger.bot.level = -10
except ImportError:  # pragma: no cover - deid is in the test extra
    pass

from test_differential import FUNCS, SPECS  # noqa: E402

#: recipes of tests/recipes/diff run through both parsers (every action kind, groups, functions, config)
PARSER_RECIPES = (
    "realistic",
    "replace_basic",
    "fields_group",
    "fields_replace",
    "fields_uid_path",
    "values_split",
    "values_two_lists",
    "func_remove",
    "func_replace",
    "jitter_var",
    "jitter_da",
    "expand_contains",
    "remove_all_keep",
    "keep_prepass",
    "private_creator",
    "add_new",
    "blank_sequence_then_children",
    "config_put_actions",
    "jitter_private_text",
)
PARSER_DATASETS = ("S", "deep", "private", "CT_small", "ctbrain1")


def _pairs():
    out = []
    for name in PARSER_RECIPES:
        spec = SPECS[name]
        for ds in spec.datasets():
            if ds not in PARSER_DATASETS:
                continue
            marks = []
            if ds in spec.differs or ds in spec.deid_crashes:
                continue  # the recipe's own difference, shown by test_differential
            out.append(pytest.param(name, ds, id=f"{name}[{ds}]", marks=marks))
    return out


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> dict[str, str]:
    return corpus.materialize(tmp_path_factory.mktemp("parser-corpus"), PARSER_DATASETS)


def _groups(lookup: dict, recipe) -> dict:
    out = {}
    for name in recipe.deid.get("values") or {}:
        out[f"values:{name}"] = sorted(str(v) for v in lookup.get(name, []))
    for name in recipe.deid.get("fields") or {}:
        out[f"fields:{name}"] = sorted(lookup.get(name, {}))
    return out


@pytest.mark.differential
@pytest.mark.skipif(deid_parser is None, reason="deid 0.4.13 is not installed")
@pytest.mark.parametrize(("recipe", "dataset"), _pairs())
def test_parse_as_deid(recipe, dataset, datasets):
    spec = SPECS[recipe]
    if dataset not in datasets:
        pytest.skip(f"dataset '{dataset}' is not installed")
    path = datasets[dataset]
    defined = {**spec.ids, **{n: FUNCS[n] for n in spec.funcs}}
    config = None
    if spec.config is not None:
        config = str(Path(datasets[dataset]).parent / f"{recipe}-config.json")
        Path(config).write_text(json.dumps(spec.config), encoding="utf-8")
    theirs = deid_parser.DicomParser(path, recipe=deid_config.DeidRecipe(str(spec.path)), config=config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", deidlang.DeidlangWarning)
        ours = DicomParser(path, recipe=DeidRecipe(str(spec.path), allow=spec.expect_warnings), config=config)
    for parser in (theirs, ours):
        for key, value in defined.items():
            parser.define(key, value)
        parser.parse(**spec.flags)
    problems = corpus.compare_outputs(theirs.dicom, ours.dicom, spec.random)
    assert not problems, "\n".join(problems)
    assert _groups(ours.lookup, ours.recipe) == _groups(theirs.lookup, ours.recipe)
    assert sorted(ours.fields) == sorted(theirs.fields)
    for name in ("Patient", "UID", "(0010,0010)", "0008"):
        assert sorted(ours.find_by_name(name)) == sorted(theirs.find_by_name(name)), name


@pytest.mark.differential
@pytest.mark.skipif(deid_parser is None, reason="deid 0.4.13 is not installed")
@pytest.mark.parametrize("dataset", PARSER_DATASETS)
def test_fields_with_lookup_as_deid(dataset, datasets):
    from deid.dicom.fields import get_fields_with_lookup as deid_fields

    if dataset not in datasets:
        pytest.skip(f"dataset '{dataset}' is not installed")
    theirs = deid_fields(pydicom.dcmread(datasets[dataset]), skip=["PixelData"])
    ours = get_fields_with_lookup(pydicom.dcmread(datasets[dataset]), skip=["PixelData"])
    assert list(ours) == list(theirs)
    assert [(f.name, f.uid, f.tag, f.is_filemeta) for f in ours.values()] == [(f.name, f.uid, f.tag, f.is_filemeta) for f in theirs.values()]
    for key in ("PatientName", "(0010,0010)", "00100010", "patient's name", "ReferencedSOPInstanceUID", "(0008,1140)__0__(0008,1155)"):
        assert [f.uid for f in ours.get_exact_matches(key)] == [f.uid for f in theirs.get_exact_matches(key)], key


@pytest.mark.differential
@pytest.mark.skipif(deid_parser is None, reason="deid 0.4.13 is not installed")
def test_get_tag_as_deid():
    from deid.dicom.tags import get_tag as deid_get_tag
    from pydicom.datadict import keyword_dict

    for keyword in [k for k in sorted(keyword_dict) if k][::37] + ["Modality", "PatientName", "KleenexTissue", "00100010"]:
        assert get_tag(keyword) == deid_get_tag(keyword), keyword
