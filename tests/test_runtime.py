"""Unit tests of the compiler and the runtime (selectors, typing, jitter, built-ins,
groups, ADD, file meta, private tags, flags, config, errors, pickling, threads)."""

from __future__ import annotations

import json
import pickle
import re
import threading
import uuid

import pydicom
import pytest
from pydicom.dataset import Dataset

import deidlang
from deidlang import ApplyError, DeidlangError
from deidlang.compiler import compile_recipe
from deidlang.lang import parser
from deidlang.runtime import Program, dates, selectors, universe, values
from deidlang.runtime.builtins import BadArgument, builtin_from_text
from deidlang.runtime.universe import FieldInfo

try:
    from tests.fixtures import build_S, header, make_S, read_back, write_S
except ImportError:  # tests/ is not a package: pytest put it on sys.path
    from fixtures import build_S, header, make_S, read_back, write_S  # type: ignore[no-redef]


def program(text: str, name: str = "r.dicom") -> Program:
    result = parser.parse(text, path=name)
    assert not [d for d in result.diagnostics if d.is_error], result.diagnostics
    return compile_recipe(result.recipe, name=name, text=text, diagnostics=result.diagnostics)


def apply(*lines: str, ds=None, ids=None, funcs=None, **kw):
    return program(header(*lines)).apply(ds if ds is not None else build_S(), ids, funcs, **kw)


def uids(ds, text: str) -> list[str]:
    sel = selectors.from_text(text)
    out = []
    for f in universe.fields(ds):
        hit = sel.matches_field(f) if isinstance(sel, selectors.UidPath) else sel.matches(FieldInfo.of(f, f.element.VR))
        if hit:
            out.append(f.uid)
    return out


# --------------------------------------------------------------------------- the universe


class TestUniverse:
    def test_order_top_level_then_file_meta_then_items(self):
        fields = universe.fields(build_S())
        order = [f.uid for f in fields]
        assert order[:2] == ["(0008,0008)", "(0008,0016)"]
        assert order[23:26] == ["(0002,0002)", "(0002,0003)", "(0002,0013)"]
        assert order[26:] == [
            "(0008,1140)__0__(0008,1150)",
            "(0008,1140)__0__(0008,1155)",
            "(0008,1140)__1__(0008,1150)",
            "(0008,1140)__1__(0008,1155)",
        ]
        assert [f.is_filemeta for f in fields[23:26]] == [True] * 3

    def test_names_tags_and_private_fields(self):
        by_uid = {f.uid: f for f in universe.fields(build_S())}
        nested = by_uid["(0008,1140)__1__(0008,1155)"]
        assert nested.name == "ReferencedImageSequence__ReferencedSOPInstanceUID"
        assert (nested.tag, nested.stripped_tag) == ("(0008,1155)", "00081155")
        assert nested.element.value == "1.2.3.4.7"
        assert nested.parent is nested.owner.element.value[1]
        private = by_uid["(0033,101E)"]
        assert private.name == "" and private.creator == "MITRA OBJECT UTF8 ATTRIBUTES 1.0"
        assert str(private).endswith("[]")

    def test_breadth_first_nesting(self):
        ds = Dataset()
        inner = Dataset()
        inner.CodeValue = "X"
        item = Dataset()
        item.ConceptNameCodeSequence = [inner]
        item.ReferencedSOPInstanceUID = "1.2"
        ds.ContentSequence = [item]
        ds.PatientName = "A"
        assert [f.uid for f in universe.fields(ds)] == [
            "(0010,0010)",
            "(0040,A730)",
            "(0040,A730)__0__(0008,1155)",
            "(0040,A730)__0__(0040,A043)",
            "(0040,A730)__0__(0040,A043)__0__(0008,0100)",
        ]
        assert universe.fields(ds)[-1].name == "ContentSequence__ConceptNameCodeSequence__CodeValue"

    def test_skip_and_expand_sequences(self):
        ds = build_S()
        assert len(universe.fields(ds, skip=())) == 34
        top = universe.fields(ds, expand_sequences=False)
        assert len(top) == 26 and not any("__" in f.uid for f in top)
        skipped = universe.fields(ds, skip=("ReferencedImageSequence", "(0010,0010)"))
        assert "(0010,0010)" not in [f.uid for f in skipped]
        assert not any(f.uid.startswith("(0008,1140)") for f in skipped)

    def test_dicomfield_helpers(self):
        f = {x.uid: x for x in universe.fields(build_S())}["(0010,0010)"]
        assert f.name_contains("patient") and f.name_contains(re.compile("0010,0010"))
        assert f.value_contains("doe") and not f.value_contains("smith")
        assert f.select_matches("VR:PN") and f.select_matches("group:0010") and not f.select_matches("tag:x")

    def test_walk_does_not_convert_untouched_raw_elements(self):
        ds = build_S()
        apply("REMOVE PatientName", ds=ds)
        raw = [t for t, e in ds._dict.items() if isinstance(e, pydicom.dataelem.RawDataElement)]
        assert 0x00100020 in raw  # PatientID was never read

    def test_no_attributes_are_written_on_the_caller_objects(self):
        ds = build_S()
        before = set(ds.__dict__)
        items_before = [set(i.__dict__) for i in ds.ReferencedImageSequence]
        apply("REMOVE ALL contains:zzz", "REPLACE ReferencedSOPClassUID 1.2", ds=ds)
        assert set(ds.__dict__) == before
        assert [set(i.__dict__) for i in ds.ReferencedImageSequence] == items_before


# --------------------------------------------------------------------------- selectors


class TestSelectors:
    def test_repeating_group_keywords_select_every_group(self):
        """deid sees no keyword in repeating groups, so REMOVE OverlayData removes nothing there
        (an overlay can hold burned-in text); deidlang selects every group (W419)."""
        ds = build_S()
        ds.add_new(0x60003000, "OW", b"\x01\x02")
        ds.add_new(0x601E3000, "OW", b"\x01\x02")
        ds.add_new(0x60000010, "US", 5)
        ds.add_new(0x60004000, "LT", "burned-in note")
        out = apply("REMOVE OverlayData", "REPLACE OverlayComments none", ds=ds)
        assert 0x60003000 not in out and 0x601E3000 not in out
        assert out[0x60000010].value == 5 and out[0x60004000].value == "none"
        assert universe.keyword_of(0x60003000) == "" and universe.repeater_keyword_of(0x601E3000) == "OverlayData"
        assert universe.repeater_keyword_of(0x00100010) == "" and universe.repeater_keyword_of(0x60013000) == ""

    def test_from_text_classification(self):
        assert isinstance(selectors.from_text("ALL"), selectors.All)
        assert isinstance(selectors.from_text("all"), selectors.All)
        assert selectors.from_text("values:v") == selectors.ValuesGroup("v")
        assert selectors.from_text("fields:f") == selectors.FieldsGroup("f")
        assert selectors.from_text("VALUES:v") == selectors.Nothing("VALUES:v")
        assert selectors.from_text("foo:bar") == selectors.Nothing("foo:bar")
        assert selectors.from_text("select:VR:DATE") == selectors.SelectVR("DA")
        assert selectors.from_text("select:group:0x0010") == selectors.SelectGroup(0x10)
        assert selectors.from_text("select:X") == selectors.Nothing("select:X")
        assert selectors.from_text("PatientName") == selectors.Exact("patientname")
        p = selectors.from_text("(0008,1140)__0__(0008,1150)")
        assert isinstance(p, selectors.UidPath) and p.tag == 0x00081150

    def test_quoted_colon_in_private_creator_is_not_an_expander(self):
        assert selectors.from_text('(0029,"ACME: Corp",10)') == selectors.Exact('(0029,"acme: corp",10)')
        assert uids(build_S(), '(0029,"ACME: Corp",10)') == ["(0029,1010)"]
        assert uids(build_S(), '0029,"acme: corp",10') == ["(0029,1010)"]

    def test_expanders(self):
        ds = build_S()
        assert uids(ds, "startswith:Patient") == ["(0010,0010)", "(0010,0020)", "(0010,0030)"]
        assert "(0020,000D)" in uids(ds, "endswith:ID")
        assert uids(ds, "except:") == []
        assert len(uids(ds, "contains:")) == 30
        assert "(0029,1010)" in uids(ds, "contains:MITRA") or "(0033,101E)" in uids(ds, "contains:MITRA")
        assert "(0028,0010)" in uids(ds, "contains:0010")

    def test_expander_regex_is_not_lower_cased(self):
        # deid lower-cases the argument, so \D becomes \d (differences, item 5)
        ds = build_S()
        # \D stays 'not a digit': the keyword 'studyinstanceuid' has none
        assert "(0020,000D)" in uids(ds, r"contains:^\D+$")
        # \d: only the all-digit stripped tags ('0020000D' is not one)
        digits = uids(ds, r"contains:^\d+$")
        assert "(0010,0010)" in digits and "(0020,000D)" not in digits

    def test_select_vr_and_group(self):
        ds = build_S()
        assert uids(ds, "select:VR:DA") == ["(0008,0020)", "(0010,0030)", "(0029,1010)"]
        assert uids(ds, "select:group:10") == ["(0010,0010)", "(0010,0020)", "(0010,0030)"]

    def test_nested_name_and_uid_path(self):
        ds = build_S()
        assert uids(ds, "ReferencedImageSequence__ReferencedSOPClassUID") == [
            "(0008,1140)__0__(0008,1150)",
            "(0008,1140)__1__(0008,1150)",
        ]
        assert uids(ds, "(0008,1140)__1__(0008,1155)") == ["(0008,1140)__1__(0008,1155)"]
        assert uids(ds, "(0008,1140)__0") == []

    def test_private_names(self):
        ds = build_S()
        assert uids(ds, "Private Creator") == ["(0029,0010)", "(0033,0010)"]
        assert uids(ds, "private tag data") == ["(0029,1010)"]  # MITRA's element is in pydicom's private dictionary
        assert uids(ds, "(0033,101e)") == uids(ds, "0033101E") == ["(0033,101E)"]
        assert uids(ds, '(0033,"MITRA OBJECT UTF8 ATTRIBUTES 1.0",101E)') == []

    def test_program_cache_is_reused_across_datasets(self):
        prog = program(header("REMOVE startswith:Patient"))
        prog.apply(build_S())
        size = len(prog._cache.matches)
        prog.apply(build_S())
        assert len(prog._cache.matches) == size > 0


# --------------------------------------------------------------------------- typing


class TestTyping:
    @pytest.mark.parametrize(
        ("value", "vr", "expected"),
        [
            ("3", "US", 3),
            ("1\\2", "US", [1, 2]),
            (7.0, "SS", 7),
            ("2.5", "FD", 2.5),
            ("abc", "OB", b"abc"),
            ("1.5", "DS", "1.5"),
            ("12", "IS", "12"),
            (3, "LO", "3"),
            ("x", "PN", "x"),
        ],
    )
    def test_coerce(self, value, vr, expected):
        assert values.coerce(value, vr) == expected

    @pytest.mark.parametrize(("value", "vr"), [("abc", "US"), ("3.7", "UL"), ("x", "FD"), ("abc", "DS"), ("1.5", "IS"), (object(), "LO"), ("x", "SQ")])
    def test_uncoercible(self, value, vr):
        with pytest.raises(values.Uncoercible) as info:
            values.coerce(value, vr)
        assert vr in str(info.value)

    def test_deid_literal_typing(self):
        assert values.deid_typed("0", "US") == 0
        assert values.deid_typed("x", "US") is None
        assert values.deid_typed("x", "LO") == "x"

    def test_var_results_are_typed(self):
        # deid stores the str '77' in a US element (differences, item 8)
        ds = apply("REPLACE Rows var:v", ids={"v": "77"})
        assert ds.Rows == 77 and isinstance(ds.Rows, int)
        assert read_back(ds).Rows == 77

    @pytest.mark.parametrize("line", ["REPLACE Rows abc", "REPLACE SliceThickness abc", "ADD Rows xyz", "ADD SamplesPerPixel 1.5"])
    def test_values_that_cannot_be_stored_raise_r003(self, line):
        with pytest.raises(ApplyError) as info:
            apply(line)
        assert info.value.code == "R003"

    @pytest.mark.parametrize(
        "line, value",
        [
            ("REPLACE SliceThickness var:v", float("inf")),
            ("REPLACE SliceThickness var:v", float("nan")),
            ("REPLACE SliceThickness var:v", "1e400"),
            ("REPLACE SliceThickness var:v", "inf"),
            ("ADD InstanceNumber var:v", 2**40),
            ("ADD InstanceNumber var:v", "99999999999"),
            ("ADD InstanceNumber var:v", "-2147483649"),
        ],
    )
    def test_numbers_ds_and_is_cannot_hold_raise_r003(self, line, value):
        """DS holds finite numbers only and IS 32-bit integers (PS3.5 Table 6.2-1): never written."""
        with pytest.raises(ApplyError) as info:
            apply(line, ids={"v": value})
        assert info.value.code == "R003"

    @pytest.mark.parametrize(
        "line, value, keyword",
        [("REPLACE SliceThickness var:v", "-1.5E-3", "SliceThickness"), ("ADD InstanceNumber var:v", -(2**31), "InstanceNumber")],
    )
    def test_numbers_at_the_edges_are_stored(self, line, value, keyword):
        ds = read_back(apply(line, ids={"v": value}))
        assert str(ds[keyword].value) == str(value)

    def test_r003_for_a_sequence_target(self):
        with pytest.raises(ApplyError) as info:
            apply("REPLACE ReferencedImageSequence x")
        assert info.value.code == "R003" and info.value.element == "(0008,1140) ReferencedImageSequence"

    def test_backslash_makes_a_multivalue(self):
        ds = apply(r"REPLACE SoftwareVersions a\b", "ADD SoftwareVersions a\\b")
        assert "SoftwareVersions" not in build_S()
        assert list(ds.SoftwareVersions) == ["a", "b"]


# --------------------------------------------------------------------------- jitter


class TestJitter:
    @pytest.mark.parametrize(
        ("text", "vr", "days", "expected"),
        [
            ("20230101", "DA", 5, "20230106"),
            ("20230101", "DA", -31, "20221201"),
            ("20240228", "DA", 1, "20240229"),
            ("2023-01-01", "DA", 1, None),
            ("1997.04.24", "DA", 1, "19970425"),
            ("1997.0424", "DA", 1, None),
            ("20230230", "DA", 1, None),
            ("2023", "DA", 1, None),
            ("20230101120000+0100", "DT", 5, "20230106120000.000000+0100"),
            ("20230101", "DT", 3, "20230104000000.000000"),
            ("20230101120000.5", "DT", 1, "20230102120000.500000"),
            ("202301011200", "DT", 1, "20230102120000.000000"),
            ("20230101", "LO", 5, "20230106"),
            ("20230101120000", "LO", 5, "20230106"),
            ("120000", "TM", 5, None),
            ("5", "IS", 5, None),
            ("Doe^John", "PN", 5, None),
        ],
    )
    def test_jitter_item(self, text, vr, days, expected):
        assert dates.jitter_item(text, vr, days) == expected

    def test_overflow(self):
        with pytest.raises(dates.JitterOverflow):
            dates.jitter_item("99991231", "DA", 1)
        with pytest.raises(ApplyError) as info:
            apply("JITTER StudyDate 3000000")
        assert info.value.code == "R004"

    def test_plus_sign_and_var_days(self):
        assert apply("JITTER StudyDate +5").StudyDate == "20230106"
        assert apply("JITTER StudyDate var:d", ids={"d": "-1"}).StudyDate == "20221231"
        assert apply("JITTER StudyDate var:d", ids={"d": 2}).StudyDate == "20230103"
        assert apply("JITTER StudyDate func:f", ids={"f": lambda **kw: 4.0}).StudyDate == "20230105"

    def test_bad_var_days_is_an_error(self):
        with pytest.raises(ApplyError) as info:
            apply("JITTER StudyDate var:d", ids={"d": "1.5"})
        assert info.value.code == "R004"

    def test_missing_var_is_a_no_op(self):
        assert apply("JITTER StudyDate var:d").StudyDate == "20230101"

    def test_empty_value_is_skipped_without_calling_func(self):
        calls = []
        ds = build_S()
        ds.StudyDate = ""
        apply("JITTER StudyDate func:f", ds=ds, ids={"f": lambda **kw: calls.append(1) or 1})
        assert calls == [] and ds.StudyDate == ""

    def test_numeric_vr_comes_back_typed(self):
        ds = build_S()
        ds.add_new(0x00191001, "UL", 20230101)
        assert apply("JITTER 00191001 1", ds=ds)[0x00191001].value == 20230102

    def test_unparseable_date_spared_by_remove_is_an_error(self):
        with pytest.raises(ApplyError) as info:
            apply("REMOVE ALL", "JITTER StudyTime 5")
        assert info.value.code == "R004"


# --------------------------------------------------------------------------- built-ins


class TestBuiltins:
    def test_jitter_defaults_to_one_day_and_years_add(self):
        assert apply("REPLACE StudyDate deid_func:jitter").StudyDate == "20230102"
        assert apply("REPLACE StudyDate deid_func:jitter years=1").StudyDate == "20240102"

    def test_uuids(self, capsys):
        ds = apply(
            "REPLACE PatientID deid_func:basic_uuid",
            "REPLACE ReferringPhysicianName deid_func:suffix_uuid",
            "REPLACE StudyInstanceUID deid_func:dicom_uuid org_root=1.2.3",
            "REPLACE SOPInstanceUID deid_func:dicom_uuid",
            "REPLACE SOPClassUID deid_func:pydicom_uuid prefix=none",
            "ADD PatientComments deid_func:suffix_uuid",
        )
        uuid.UUID(ds.PatientID)
        assert ds.ReferringPhysicianName.family_name.startswith("referringphysicianname-")
        assert ds.StudyInstanceUID.startswith("1.2.3.") and len(ds.StudyInstanceUID) <= 64
        assert ds.SOPInstanceUID.startswith("anonymous-organization.") and len(ds.SOPInstanceUID) <= 64
        assert ds.SOPClassUID.startswith("2.25.")
        assert ds.PatientComments.startswith("patientcomments-")
        assert capsys.readouterr().out == ""

    def test_pydicom_uuid_stable_remapping(self):
        a = apply("REPLACE StudyInstanceUID deid_func:pydicom_uuid prefix=1.2.").StudyInstanceUID
        b = apply("REPLACE StudyInstanceUID deid_func:pydicom_uuid prefix=1.2.").StudyInstanceUID
        c = apply("REPLACE StudyInstanceUID deid_func:pydicom_uuid prefix=1.2. stable_remapping=false").StudyInstanceUID
        assert a == b and a.startswith("1.2.") and c != a

    @pytest.mark.parametrize("text", ["deid_func:simple_uuid", "deid_func:jitter days=x", "deid_func:pydicom_uuid prefix=1.2"])
    def test_bad_builtins_fail_at_compile_time(self, text):
        with pytest.raises(BadArgument):
            builtin_from_text(text)

    def test_jitter_builtin_under_add_needs_an_element(self):
        assert apply("ADD StudyDate deid_func:jitter days=2").StudyDate == "20230103"
        with pytest.raises(ApplyError) as info:
            apply("ADD ContentDate deid_func:jitter days=2")
        assert info.value.code == "R004"


# --------------------------------------------------------------------------- ADD


class TestAdd:
    def test_dictionary_vr_and_type(self):
        ds = apply("ADD SamplesPerPixel 3", "ADD patientcomments hi", "ADD 0x00181030 proto", "ADD ImagePositionPatient 1\\2\\3")
        assert ds["SamplesPerPixel"].VR == "US" and ds.SamplesPerPixel == 3
        assert ds.PatientComments == "hi"
        assert ds.ProtocolName == "proto"
        assert [float(x) for x in ds.ImagePositionPatient] == [1.0, 2.0, 3.0]
        read_back(ds)

    def test_unknown_tags_get_st(self):
        ds = apply("ADD 11112221 SIMPSON", "ADD 00231234 X")
        assert ds[0x11112221].VR == "ST" and ds[0x00231234].VR == "ST"

    def test_private_creator_form_creates_the_block(self):
        ds = apply('ADD (0029,"NEW CREATOR",11) x', 'ADD (0029,"ACME: Corp",12) y')
        assert ds[0x00290011].value == "NEW CREATOR"
        assert ds[0x00291111].value == "x" and ds[0x00291111].private_creator == "NEW CREATOR"
        assert ds[0x00291012].value == "y"

    def test_added_private_fields_join_the_universe(self):
        ds = apply('ADD (0029,"NEW CREATOR",11) x', "REMOVE contains:NEW CREATOR", "REMOVE (0029,0011)")
        assert 0x00291111 not in ds and 0x00290011 not in ds

    def test_group_0002_goes_to_file_meta(self):
        ds = apply("ADD MediaStorageSOPInstanceUID 7.7", "ADD ImplementationVersionName X")
        assert ds.file_meta.MediaStorageSOPInstanceUID == "7.7"
        assert "MediaStorageSOPInstanceUID" not in ds
        plain = Dataset()
        apply("ADD MediaStorageSOPInstanceUID 7.7", ds=plain)
        assert plain.file_meta.MediaStorageSOPInstanceUID == "7.7"

    def test_add_overwrites_protected_and_kept_fields(self):
        ds = apply("ADD TransferSyntaxUID 1.2.840.10008.1.2")
        assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2"
        assert apply("KEEP Rows", "ADD Rows 7").Rows == 7

    def test_added_field_can_then_be_removed(self):
        # deid adds the new element to the universe, so a later REMOVE sees it
        assert "StudyDate" not in apply("KEEP StudyDate", "ADD StudyDate 19700101", "REMOVE StudyDate")
        assert "PatientIdentityRemoved" not in apply("ADD PatientIdentityRemoved YES", "REMOVE ALL")

    def test_add_never_nests(self):
        ds = apply("ADD ReferencedSOPClassUID 9.9")
        assert ds.ReferencedSOPClassUID == "9.9"
        assert ds.ReferencedImageSequence[0].ReferencedSOPClassUID != "9.9"

    def test_missing_var_adds_nothing(self):
        assert "PatientComments" not in apply("ADD PatientComments var:nope")

    def test_func_none_adds_nothing(self):
        assert "PatientComments" not in apply("ADD PatientComments func:f", ids={"f": lambda **kw: None})


# --------------------------------------------------------------------------- REMOVE values and filters


class TestRemove:
    @pytest.mark.parametrize(
        ("value", "removed"),
        [
            ("contains:doe", {"PatientName"}),
            ("startswith:smith", {"ReferringPhysicianName"}),
            ("endswith:hospital", {"InstitutionName"}),
            ("equals:ct", {"Modality"}),
            ("equals:primary", {"ImageType"}),
        ],
    )
    def test_value_filters(self, value, removed):
        before = {e.keyword for e in build_S()}
        after = {e.keyword for e in apply(f"REMOVE ALL {value}")}
        assert before - after == removed

    def test_negated_filters(self):
        kept = {e.keyword for e in apply("REMOVE startswith:Patient notcontains:doe")}
        assert "PatientName" in kept and "PatientID" not in kept
        kept = {e.keyword for e in apply("REMOVE startswith:Patient notequals:12345")}
        assert "PatientID" in kept and "PatientName" not in kept

    def test_filters_never_match_a_sequence(self):
        ds = apply("REMOVE ALL contains:1.2.3.4.6")
        assert "ReferencedImageSequence" in ds
        assert "ReferencedSOPInstanceUID" not in ds.ReferencedImageSequence[0]
        assert ds.ReferencedImageSequence[1].ReferencedSOPInstanceUID == "1.2.3.4.7"

    def test_values_filter_in_the_value_slot(self):
        text = "FORMAT dicom\n%values v\nFIELD PatientID\n%header\nREMOVE ALL values:v\n"
        ds = program(text).apply(build_S())
        assert "PatientID" not in ds and "PatientName" in ds

    def test_func_and_var_predicates(self):
        ds = apply("REMOVE startswith:Patient func:f", ids={"f": lambda field, **kw: field.name == "PatientID"})
        assert "PatientID" not in ds and "PatientName" in ds
        assert "PatientName" not in apply("REMOVE PatientName var:flag", ids={"flag": True})
        assert "PatientName" in apply("REMOVE PatientName var:flag", ids={"flag": False})

    def test_exclusion_spares_fields_named_by_replace(self):
        ds = apply("REMOVE ALL", "REPLACE PatientID X")
        assert ds.PatientID == "X" and len(ds) == 1

    def test_leak_is_reported_whatever_the_order(self):
        for lines in (("REMOVE ALL", "REPLACE PatientID var:x"), ("REPLACE PatientID var:x", "REMOVE ALL")):
            with pytest.raises(ApplyError) as info:
                apply(*lines)
            assert info.value.code == "R002"
            assert info.value.span.line == 5 + lines.index("REPLACE PatientID var:x")

    def test_missing_var_without_remove_is_a_no_op(self):
        assert apply("REPLACE PatientID var:x").PatientID == "12345"

    def test_replace_of_group_does_not_spare(self):
        text = "FORMAT dicom\n%fields f\nFIELD PatientID\n%header\nREMOVE ALL\nREPLACE fields:f var:x\n"
        assert "PatientID" not in program(text).apply(build_S())


# --------------------------------------------------------------------------- groups


class TestGroups:
    def test_values_match_literally(self):
        ds = build_S()
        ds.PatientComments = "uid 1x2x3"
        text = "FORMAT dicom\n%values v\nFIELD StudyInstanceUID\n%header\nREMOVE values:v\n"
        out = program(text).apply(ds)
        # '.' is no wildcard, and SOPInstanceUID '1.2.3.4.5' contains '1.2.3.4'
        assert "PatientComments" in out and "StudyInstanceUID" not in out and "SOPInstanceUID" not in out
        assert out.file_meta.get("MediaStorageSOPInstanceUID") is None

    def test_values_select_leaves_not_their_sequence(self):
        # deid matches a sequence through the text of its items and selects it whole
        text = "FORMAT dicom\n%values v\nFIELD (0008,1140)__0__(0008,1155)\n%header\nREMOVE values:v\n"
        ds = program(text).apply(build_S())
        assert len(ds.ReferencedImageSequence) == 2
        assert "ReferencedSOPInstanceUID" not in ds.ReferencedImageSequence[0]
        assert ds.ReferencedImageSequence[1].ReferencedSOPInstanceUID == "1.2.3.4.7"

    def test_empty_values_never_match(self):
        # deid matches str(None) == 'None' against the list
        ds = build_S()
        ds.PatientComments = None
        text = "FORMAT dicom\n%values v\nSPLIT PatientComments\n%header\nREMOVE values:v\n"
        assert "PatientComments" in program(text).apply(ds)

    def test_values_with_regex_characters_do_not_crash(self):
        ds = build_S()
        ds.PatientComments = "a(b"
        text = "FORMAT dicom\n%values v\nFIELD PatientComments\n%header\nBLANK values:v\n"
        assert program(text).apply(ds).PatientComments is None

    def test_keep_hides_fields_from_groups(self):
        text = "FORMAT dicom\n%values v\nSPLIT PatientName by=^\n%header\nKEEP PatientName\nREMOVE values:v\n"
        ds = program(text).apply(build_S())
        assert ds.PatientName == "Doe^John"

    def test_split_options(self):
        store = {}
        text = "FORMAT dicom\n%values v\nSPLIT InstitutionName minlength=5\n%header\nREPLACE Modality func:spy\n"
        program(text).apply(build_S(), {"spy": lambda item, **kw: store.update(v=item["v"])})
        assert store["v"] == ["General", "Hospital"]

    def test_fields_group_is_in_the_lookup(self):
        store = {}
        text = "FORMAT dicom\n%fields f\nFIELD startswith:Patient\n%header\nREPLACE Modality func:spy\n"
        program(text).apply(build_S(), {"spy": lambda item, **kw: store.update(f=item["f"])})
        assert list(store["f"]) == ["(0010,0010)", "(0010,0020)", "(0010,0030)"]


# --------------------------------------------------------------------------- flags and config


class TestFlags:
    def test_strip_sequences(self):
        ds = apply("REPLACE ReferencedSOPClassUID 1.2", strip_sequences=True)
        assert "ReferencedImageSequence" not in ds

    def test_remove_private(self):
        ds = apply("REMOVE PatientName", remove_private=True)
        assert not any(e.tag.is_private for e in ds)

    def test_disable_skip(self):
        ds = apply("REMOVE ALL", disable_skip=True)
        assert len(ds) == 0 and len(ds.file_meta) == 0

    def test_config_dict_replaces_skip_and_adds_put_actions(self):
        config = {"get": {"skip": ["PatientName"]}, "put": {"actions": [{"action": "ADD", "field": "PatientIdentityRemoved", "value": "YES"}]}}
        ds = apply("REMOVE ALL", config=config)
        assert ds.PatientName == "Doe^John" and ds.PatientIdentityRemoved == "YES"
        assert len(ds.file_meta) == 0  # the default protected list was replaced

    def test_config_path_and_actions_after_the_recipe(self, tmp_path):
        path = tmp_path / "config.json"
        actions = [{"action": "REPLACE", "field": "startswith:Patient", "value": "X"}, {"action": "KEEP", "field": "PixelData"}]
        path.write_text(json.dumps({"get": {"skip": []}, "put": {"actions": actions}}))
        ds = apply("REPLACE PatientName Y", config=str(path))
        assert ds.PatientName == "X" and ds.PatientID == "X"

    @pytest.mark.parametrize("config", [{"put": {"actions": [{"action": "BLNK", "field": "X"}]}}, {"get": {"skip": "x"}}, "/no/such/config.json", [1]])
    def test_bad_config(self, config):
        with pytest.raises(DeidlangError):
            apply("REMOVE PatientName", config=config)

    def test_ids_shapes(self, tmp_path):
        path = write_S(tmp_path / "s.dcm")
        prog = program(header("REPLACE PatientID var:pid"))
        ds = prog.apply(pydicom.dcmread(path), {str(path.resolve()): {"pid": "A"}})
        assert ds.PatientID == "A"
        ds = prog.apply(pydicom.dcmread(path), {"/elsewhere/x.dcm": {"pid": "B"}})
        assert ds.PatientID == "12345"
        assert prog.apply(build_S(), {"pid": "C"}).PatientID == "C"

    def test_funcs_argument(self):
        ds = apply("REPLACE PatientID func:f", funcs={"f": lambda **kw: "F"})
        assert ds.PatientID == "F"

    def test_plain_dataset(self):
        ds = Dataset()
        ds.PatientName = "A^B"
        ds.StudyDate = "20200101"
        apply("REMOVE PatientName", "JITTER StudyDate 1", ds=ds)
        assert "PatientName" not in ds and ds.StudyDate == "20200102"

    def test_not_a_dataset(self):
        with pytest.raises(TypeError):
            apply("REMOVE ALL", ds={"PatientName": "x"})


# --------------------------------------------------------------------------- errors


class TestErrors:
    def test_apply_error_names_recipe_line_action_element_and_file(self, tmp_path):
        path = write_S(tmp_path / "in.dcm")
        prog = program(header("REMOVE StudyDate", "REPLACE Rows abc"), name="my.recipe")
        with pytest.raises(ApplyError) as info:
            prog.apply(pydicom.dcmread(path))
        err = info.value
        assert (err.code, err.recipe, err.span.line, err.action) == ("R003", "my.recipe", 6, "REPLACE Rows abc")
        assert err.element == "(0028,0010) Rows" and err.path == str(path)
        assert str(err).startswith("my.recipe:6:1: R003")
        assert "abc" not in err.message
        assert err.as_diagnostic().code == "R003"

    def test_messages_never_hold_values(self):
        with pytest.raises(ApplyError) as info:
            apply("REPLACE PatientName func:f", ids={"f": lambda **kw: (_ for _ in ()).throw(ValueError("Doe^John"))})
        assert "Doe" not in str(info.value)
        assert isinstance(info.value.__cause__, ValueError)

    def test_func_raising_is_r001_with_cause(self):
        def boom(**kw):
            raise KeyError("x")

        with pytest.raises(ApplyError) as info:
            apply("REPLACE PatientID func:boom", ids={"boom": boom})
        assert info.value.code == "R001" and isinstance(info.value.__cause__, KeyError)
        assert "'boom' raised KeyError" in info.value.message

    def test_unknown_func_is_r002_and_non_callable_r001(self):
        with pytest.raises(ApplyError) as info:
            apply("REPLACE PatientID func:nope")
        assert info.value.code == "R002"
        with pytest.raises(ApplyError) as info:
            apply("REPLACE PatientID func:s", ids={"s": "text"})
        assert info.value.code == "R001"

    def test_path_argument_overrides_filename(self):
        with pytest.raises(ApplyError) as info:
            apply("REPLACE Rows abc", path="given.dcm")
        assert info.value.path == "given.dcm"


# --------------------------------------------------------------------------- compiler


class TestCompiler:
    def test_program_attributes(self):
        text = header("REMOVE PatientName", "REPLACE PatientID X", "REPLACE PatientID Y")
        prog = program(text, name="a.dicom")
        assert prog.name == "a.dicom"
        import hashlib

        assert prog.sha256 == hashlib.sha256(text.encode()).hexdigest()
        assert [type(s).__name__ for s in prog.steps] == ["Remove", "Replace", "Replace"]
        assert prog.steps[1].selector == prog.steps[2].selector  # selectors are shared
        assert repr(prog.steps[0]) == "<Remove PatientName (0010,0010) line 5>"
        assert repr(program(header("ADD 00101000 x")).steps[0]) == "<Add 00101000 (0010,1000) line 5>"
        assert repr(program(header("BLANK startswith:Pat")).steps[0]) == "<Blank startswith:Pat line 5>"

    def test_deidlang_compile_and_load(self, tmp_path):
        p = tmp_path / "deid.recipe"
        p.write_text(header("REMOVE PatientName"))
        prog = deidlang.load(p)
        assert prog.name == str(p)
        assert "PatientName" not in prog.apply(build_S())

    def test_add_needs_one_element(self):
        with pytest.raises(deidlang.RecipeError) as info:
            program(header("ADD contains:Patient x"))
        assert info.value.errors[0].code == "E304"

    def test_keep_of_group_protects_nothing(self):
        text = "FORMAT dicom\n%fields f\nFIELD PatientName\n%header\nKEEP fields:f\nREMOVE PatientName\n"
        assert "PatientName" not in program(text).apply(build_S())


# --------------------------------------------------------------------------- KEEP


class TestKeep:
    def test_keep_sequence_protects_children(self):
        ds = apply("KEEP ReferencedImageSequence", "REMOVE ReferencedSOPClassUID", "REMOVE ALL")
        assert len(ds.ReferencedImageSequence[0]) == 2 and list(ds.keys()) == [0x00081140]

    def test_keep_uid_path_protects_one_element(self):
        # deid protects nothing for a nested selection (differences, item 6)
        ds = apply("KEEP (0008,1140)__0__(0008,1155)", "REMOVE ReferencedSOPInstanceUID")
        assert ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID == "1.2.3.4.6"
        assert "ReferencedSOPInstanceUID" not in ds.ReferencedImageSequence[1]

    def test_keep_protected_and_config_keep(self):
        ds = apply("KEEP PixelData", "REMOVE ALL")
        assert len(ds) == 0


# --------------------------------------------------------------------------- pickling and threads


def _signature(ds) -> list:
    out = []
    for elem in ds.iterall():
        out.append((str(elem.tag), elem.VR, None if elem.VR == "SQ" else repr(elem.value)))
    return out


RECIPE = header(
    "REMOVE endswith:Time",
    "REPLACE PatientName X",
    "JITTER StudyDate 3",
    "BLANK select:VR:DA",
    "REMOVE (0008,1140)__1__(0008,1155)",
    "ADD PatientIdentityRemoved YES",
    "REPLACE PatientID func:f",
    "KEEP Modality",
    "REMOVE ALL contains:SIEMENS",
)


def _f(**kwargs):
    return "ID-" + kwargs["field"].name


class TestSharing:
    def test_pickle_round_trip(self):
        prog = program(RECIPE)
        prog.apply(build_S(), {"f": _f})  # warm the cache: it must not travel
        clone = pickle.loads(pickle.dumps(prog))
        assert clone == prog
        assert clone._cache.matches == {}
        assert _signature(clone.apply(build_S(), {"f": _f})) == _signature(prog.apply(build_S(), {"f": _f}))

    def test_programs_with_different_recipes_differ(self):
        assert program(header("REMOVE PatientName")) != program(header("REMOVE PatientID"))

    def test_same_program_on_two_threads(self):
        prog = program(RECIPE)
        expected = _signature(prog.apply(build_S(), {"f": _f}))
        results: list = []
        errors: list = []

        def work():
            try:
                for _ in range(25):
                    results.append(_signature(prog.apply(build_S(), {"f": _f})))
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert len(results) == 50 and all(r == expected for r in results)

    def test_program_is_frozen(self):
        prog = program(RECIPE)
        with pytest.raises(AttributeError):
            prog.name = "x"  # type: ignore[misc]


def test_make_S_is_a_fresh_object_every_time():
    assert make_S() is not make_S()
    assert make_S().PatientName == "Doe^John"


class TestTagForms:
    """Every tag form the grammar accepts selects the tag (deid matches nothing for some: W411)."""

    @pytest.mark.parametrize(
        "form",
        ["PatientName", "patientname", "(0010,0010)", "00100010", "0x00100010", "0010,0010", "(0010, 0010)"],
    )
    def test_public_tag_forms_remove_the_element(self, form):
        import deidlang
        from tests.fixtures import build_S

        ds = build_S()
        deidlang.compile(f"FORMAT dicom\n%header\nREMOVE {form}\n").apply(ds)
        assert "PatientName" not in ds

    @pytest.mark.parametrize(
        "form",
        [
            '(0033,"MITRA OBJECT UTF8 ATTRIBUTES 1.0",1E)',
            '0033,"MITRA OBJECT UTF8 ATTRIBUTES 1.0",1e',
            '(0033, "MITRA OBJECT UTF8 ATTRIBUTES 1.0", 1E)',
            '(0033,"mitra object utf8 attributes 1.0",1E)',
        ],
    )
    def test_private_creator_forms_remove_the_element(self, form):
        import deidlang
        from tests.fixtures import build_S

        ds = build_S()
        deidlang.compile(f"FORMAT dicom\n%header\nREMOVE {form}\n").apply(ds)
        assert 0x0033101E not in ds and 0x00330010 in ds
