"""Parser: text -> AST with spans, one diagnostic per bad line, never an exception."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deidlang import parse
from deidlang.lang import nodes
from deidlang.lang.source import Span


def header(*lines: str) -> str:
    return "FORMAT dicom\n%header\n" + "\n".join(lines) + "\n"


def actions(text: str):
    result = parse(text)
    assert [d for d in result.diagnostics if d.is_error] == [], result.diagnostics
    return result.recipe.header


class TestFields:
    @pytest.mark.parametrize(
        "text, expected",
        [
            ("PatientName", nodes.Keyword("PatientName")),
            ("patientname", nodes.Keyword("patientname")),
            ("(0010,0010)", nodes.Tag(0x10, 0x10, "(0010,0010)")),
            ("0010,0010", nodes.Tag(0x10, 0x10, "0010,0010")),
            ("00100010", nodes.Tag(0x10, 0x10, "00100010")),
            ("0x00100010", nodes.Tag(0x10, 0x10, "0x00100010")),
            ("(0010, 0010)", nodes.Tag(0x10, 0x10, "(0010, 0010)")),
            (
                '(0033,"MITRA OBJECT UTF8 ATTRIBUTES 1.0",1E)',
                nodes.PrivateTag(0x33, "MITRA OBJECT UTF8 ATTRIBUTES 1.0", 0x1E, '(0033,"MITRA OBJECT UTF8 ATTRIBUTES 1.0",1E)'),
            ),
            ('0033,"ACME: Corp",10', nodes.PrivateTag(0x33, "ACME: Corp", 0x10, '0033,"ACME: Corp",10')),
            ("ReferencedImageSequence__ReferencedSOPClassUID", nodes.NestedName(("ReferencedImageSequence", "ReferencedSOPClassUID"))),
            ("(0008,1140)__1__(0008,1155)", nodes.UidPath((0x00081140, 1, 0x00081155), "(0008,1140)__1__(0008,1155)")),
            ("ALL", nodes.AllFields("ALL")),
            ("all", nodes.AllFields("all")),
            ("startswith:Patient", nodes.Expander("startswith", "Patient", "startswith:Patient")),
            ("EndsWith:ID", nodes.Expander("endswith", "ID", "EndsWith:ID")),
            ("select:VR:DA", nodes.Expander("select", "VR:DA", "select:VR:DA")),
            ('contains:(0029,"ACME: Corp",10)', nodes.Expander("contains", '(0029,"ACME: Corp",10)', 'contains:(0029,"ACME: Corp",10)')),
            ("fields:f", nodes.GroupRef("fields", "f", "fields:f")),
            ("values:v", nodes.GroupRef("values", "v", "values:v")),
        ],
    )
    def test_field_forms(self, text, expected):
        (action,) = actions(header(f"REMOVE {text}"))
        assert action.field == expected

    def test_field_span(self):
        (action,) = actions(header("REPLACE PatientNmae x"))
        assert action.field.span == Span(3, 9, 3, 20)
        assert action.span == Span(3, 1, 3, 22)
        assert action.verb_span == Span(3, 1, 3, 8)


class TestValues:
    @pytest.mark.parametrize(
        "text, expected",
        [
            ("YES", nodes.Literal("YES", False, "YES")),
            ("Big    Hospital", nodes.Literal("Big    Hospital", False, "Big    Hospital")),
            ("O'Brien", nodes.Literal("O'Brien", False, "O'Brien")),
            ('"Jane Q"', nodes.Literal("Jane Q", True, '"Jane Q"')),
            ("var:id", nodes.VarRef("id")),
            ("func:generate_uid", nodes.FuncRef("generate_uid")),
            ("deid_func:jitter days=3 years=1", nodes.DeidFunc("jitter", (nodes.FuncArg("days", "3"), nodes.FuncArg("years", "1")))),
            ("deid_func:basic_uuid", nodes.DeidFunc("basic_uuid")),
            ("contains:Doe", nodes.ValueFilter("contains", "Doe")),
            ("values:v", nodes.ValueFilter("values", "v")),
            ("-31", nodes.Literal("-31", False, "-31")),
        ],
    )
    def test_value_forms(self, text, expected):
        (action,) = actions(header(f"REPLACE PatientName {text}"))
        assert action.value == expected

    def test_trailing_comment_is_stripped_and_recorded(self):
        (action,) = actions(header("ADD PatientIdentityRemoved YES # comment"))
        assert action.value == nodes.Literal("YES", False, "YES")
        assert action.comment == "# comment"

    def test_remove_with_comment_has_no_value(self):
        (action,) = actions(header("REMOVE ALL # everything"))
        assert action.value is None and action.comment == "# everything"

    def test_value_span_excludes_trailing_space(self):
        (action,) = actions(header("ADD X YES   # c"))
        assert action.value.span == Span(3, 7, 3, 10)


class TestStructure:
    def test_sections_and_groups(self):
        text = """FORMAT dicom
%values v
SPLIT PatientName by=^;minlength=4
%fields f
FIELD (0008,1140)__0__(0008,1150)
%filter blacklist
LABEL Dose Report # (CTP)
  contains Modality CT
  + contains SeriesDescription Dose Report || contains ImageType SCREEN SAVE
  ctpcoordinates 0,0,512,110
%header
REPLACE fields:f X
"""
        result = parse(text)
        assert result.diagnostics == ()
        r = result.recipe
        assert r.format == "dicom"
        assert [s.kind for s in r.sections] == ["values", "fields", "filter", "header"]
        split = r.groups("values")["v"][0]
        assert split.options == (nodes.SplitOption("by", "^"), nodes.SplitOption("minlength", "4"))
        (label,) = r.filters()["blacklist"]
        assert label.name == "Dose Report"
        first, second = label.criteria
        assert first.criteria == (nodes.Criterion("contains", nodes.Keyword("Modality"), "CT"),)
        assert second.operator == "and"
        assert second.operators == ("or",)
        assert second.criteria[0].value == "Dose Report"
        assert label.coordinates[0].spec == nodes.Box(0, 0, 512, 110)

    def test_plus_inside_values_is_not_an_operator(self):
        text = "%filter f\nLABEL x\ncontains ImageType DERIVED+SECONDARY+SCREEN SAVE\ncontains X a+ || contains Y b\n"
        (label,) = parse(text).recipe.filters()["f"]
        assert label.criteria[0].criteria[0].value == "DERIVED+SECONDARY+SCREEN SAVE"
        assert [c.value for c in label.criteria[1].criteria] == ["a+", "b"]
        assert label.criteria[1].operators == ("or",)

    def test_blank_lines_do_not_end_label_blocks(self):
        text = "%filter f\nLABEL x\n\n  contains Modality CT\n\n  coordinates all\n"
        (label,) = parse(text).recipe.filters()["f"]
        assert len(label.criteria) == 1 and isinstance(label.coordinates[0].spec, nodes.WholeImage)

    def test_crlf_tabs_and_missing_final_newline(self):
        text = "FORMAT dicom\r\n%header\r\n\tREMOVE\tPatientName\r\nADD PatientIdentityRemoved YES"
        result = parse(text)
        assert result.diagnostics == ()
        assert [a.field.text for a in result.recipe.header] == ["PatientName", "PatientIdentityRemoved"]
        assert result.recipe.header[0].field.span == Span(3, 9, 3, 20)

    def test_section_keywords_any_case(self):
        result = parse("%HEADER\nREMOVE X\n%Filter f\nLABEL x\ncontains A b\n")
        assert [s.kind for s in result.recipe.sections] == ["header", "filter"]


class TestRecovery:
    def test_ten_mistakes_ten_diagnostics(self):
        text = """FORMAT dicom
%header
REPLAC PatientID x
BLNK PatientName
REPLACE X var:a b
REMOVE
%pixels
REMOVE Y
%filter f
contains X y
LABEL foo
present Modality CT
coordinates 1,2,3
%fields g
SPLIT X
%header extra
LABEL stray
FIELD stray
"""
        result = parse(text)
        got = [(d.line, d.code) for d in result.diagnostics]
        assert got == [
            (3, "E101"),
            (4, "E101"),
            (5, "E104"),
            (6, "E102"),
            (7, "E105"),
            (10, "E109"),
            (12, "E104"),
            (13, "E110"),
            (15, "E108"),
            (16, "E106"),
            (17, "E108"),
            (18, "E108"),
        ]
        # the good lines around them still parsed
        assert [a.verb for a in result.recipe.header] == []
        assert result.recipe.filters()["f"][0].name == "foo"

    def test_good_lines_survive_bad_neighbours(self):
        result = parse(header("REMOVE PatientName", "BLNK X", "REMOVE PatientID"))
        assert [a.field.text for a in result.recipe.header] == ["PatientName", "PatientID"]
        assert [d.code for d in result.diagnostics] == ["E101"]

    def test_did_you_mean_action(self):
        (d,) = parse(header("REPLAC PatientID x")).diagnostics
        assert d.message == "unknown action or statement 'REPLAC'"
        assert d.hint == "did you mean 'REPLACE'?"
        assert (d.line, d.column, d.end_column) == (3, 1, 7)

    def test_unknown_section_suggests(self):
        (d,) = parse("%headr\n").diagnostics
        assert d.code == "E105" and "'%header'" in d.hint

    def test_action_before_section(self):
        (d,) = parse("REMOVE X\n").diagnostics
        assert d.code == "E107"

    def test_parse_is_pure(self):
        text = header("REMOVE PatientName", "BLNK X")
        assert parse(text) == parse(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_any_bytes_give_diagnostics_not_exceptions(data):
    text = data.decode("utf-8", errors="replace")
    result = parse(text)
    assert isinstance(result.recipe, nodes.Recipe)
    for d in result.diagnostics:
        assert d.line >= 1 and d.column >= 1 and d.end_column >= d.column


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("%#+|:,\"'()= \t\n\r\x00ABCDEFadelmnoprstuvx0123456789_^.-é")), max_size=300))
def test_recipe_like_text_never_raises(text):
    result = parse("FORMAT dicom\n%header\n" + text)
    assert isinstance(result.diagnostics, tuple)


def test_nul_bytes_and_huge_lines():
    text = header("REMOVE Patient\x00Name", "REPLACE PatientName " + "x" * 100_000, "REMOVE " + "(" * 50_000)
    result = parse(text)
    assert result.recipe.header[1].value.text == "x" * 100_000
    assert any(d.line == 5 for d in result.diagnostics) or len(result.recipe.header) == 3
