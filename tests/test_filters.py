"""``%filter`` evaluation: ``Program.inspect`` and the compat ``has_burned_pixels``.

Each test states deid 0.4.13's behaviour (conformance cases CC49-CC59, and
``tests/test_differential_filters.py`` runs deid itself); where deidlang differs on purpose, the test says so and
``docs/differences-from-deid.md`` ("Filters") lists it.
"""

from __future__ import annotations

import copy
import os
import pickle
import sys
import warnings
from pathlib import Path

import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixtures  # noqa: E402

import deidlang  # noqa: E402
from deidlang import compat  # noqa: E402
from deidlang.runtime.inspection import Criterion, Inspection, LabelMatch, Region  # noqa: E402


def program(*lines: str, label: str = "t", group: str = "f", allow=()) -> deidlang.Program:
    """A recipe of one label (FORMAT dicom / %filter f / LABEL t / lines)."""
    return deidlang.compile(f"FORMAT dicom\n%filter {group}\nLABEL {label}\n" + "\n".join(lines) + "\n", allow=allow)


def flagged(*lines: str, ds: Dataset | None = None, allow=()) -> bool:
    return program(*lines, allow=allow).inspect(ds if ds is not None else S()).flagged


_S = None


def S() -> Dataset:
    """A fresh copy of S (``fixtures.make_S``) as read from its file."""
    global _S
    if _S is None:
        _S = fixtures.build_S()
    return copy.deepcopy(_S)


def regions(*boxes) -> Sequence:
    items = []
    for x0, y0, x1, y1 in boxes:
        item = Dataset()
        item.RegionLocationMinX0, item.RegionLocationMinY0 = x0, y0
        item.RegionLocationMaxX1, item.RegionLocationMaxY1 = x1, y1
        items.append(item)
    return Sequence(items)


# --------------------------------------------------------------------------- criteria


class TestCriteria:
    @pytest.mark.parametrize(
        "line, expected",
        [
            ("contains Modality CT", True),
            ("contains Modality ct", True),  # case-insensitive
            ("contains Modality ^C", True),  # a regex search
            ("contains Modality MR", False),
            ("contains Modality CT|MR", True),
            ("contains InstitutionName General Hospital", True),  # values may hold spaces
            ("contains PatientComments .", False),  # absent: nothing to find
            ("notcontains Modality MR", True),
            ("notcontains Modality CT", False),
            ("notcontains PatientComments x", True),  # absent: true, as in deid
            ("equals Modality CT", True),
            ("equals Modality ct", True),
            ("equals Modality C", False),  # exact
            ("equals Modality CT|MR", False),  # no regex (CC53)
            ("equals Rows 4", True),  # str(int)
            ("equals Rows 04", False),
            ("notequals Modality MR", True),
            ("notequals Modality CT", False),
            ("notequals PatientComments x", True),
            ("missing PatientComments", True),
            ("missing Modality", False),
            ("present Modality", True),
            ("present PatientComments", False),
            ("empty Modality", False),
            ("empty PatientComments", False),  # absent is not empty
        ],
    )
    def test_on_S(self, line, expected):
        assert flagged(line) is expected

    def test_regex_is_compiled_as_written(self):
        # deid lower-cases the pattern, turning \D into \d (checker W407); deidlang does not
        ds = S()
        assert flagged(r"contains PatientID ^\d+$", ds=ds)
        assert not flagged(r"contains PatientID \D", ds=ds)

    def test_values_are_trimmed(self):
        ds = S()
        ds.Modality = " CT "
        assert flagged("equals Modality CT", ds=ds)
        assert flagged("contains Modality ^CT$", ds=ds)

    def test_empty_values(self):
        ds = S()
        ds.PatientComments = ""  # text VR: '' (present and empty)
        ds.add_new(0x00280002, "US", None)  # numeric VR: None (deid: missing)
        ds.ReferencedImageSequence = Sequence([])
        ds.Columns = 0  # a value, not empty (deid: empty, as 0 is falsy)
        assert flagged("empty PatientComments", ds=ds)
        assert flagged("present PatientComments", ds=ds)
        assert not flagged("missing PatientComments", ds=ds)
        assert flagged("missing SamplesPerPixel", ds=ds)
        assert not flagged("present SamplesPerPixel", ds=ds)
        assert flagged("empty SamplesPerPixel", ds=ds)
        assert flagged("empty ReferencedImageSequence", ds=ds)
        assert flagged("present ReferencedImageSequence", ds=ds)
        assert not flagged("empty Columns", ds=ds)
        assert flagged("equals Columns 0", ds=ds)

    def test_multi_valued_elements_compare_value_by_value(self):
        # CC52: deid compares the Python text of the list ("['ORIGINAL', 'PRIMARY', 'AXIAL']")
        assert flagged("equals ImageType PRIMARY")
        assert not flagged("equals ImageType ['ORIGINAL', 'PRIMARY', 'AXIAL']")
        assert not flagged("contains ImageType 'PRIMARY'")
        assert flagged("contains ImageType ^primary$")
        assert flagged("contains ImageType PRIMARY")  # as in deid
        assert not flagged("contains ImageType ORIGINAL.PRIMARY")  # one value at a time
        assert flagged("notequals ImageType SECONDARY")
        assert not flagged("notequals ImageType axial")

    def test_multi_valued_numbers(self):
        ds = S()
        ds.WindowCenter = ["40", "400"]
        assert flagged("equals WindowCenter 400", ds=ds)
        assert not flagged("equals WindowCenter 4", ds=ds)

    def test_sequences_compare_as_their_text(self):
        # kept as in deid: a sequence is matched through its text dump
        assert flagged("contains ReferencedImageSequence 1.2.3.4.6")
        assert not flagged("contains ReferencedImageSequence 9.9.9")

    def test_filters_read_top_level_keywords_only(self):
        # nested elements are not visible to a keyword
        assert not flagged("contains ReferencedSOPInstanceUID 1.2")
        assert flagged("missing ReferencedSOPInstanceUID")

    def test_file_meta_is_not_visible(self):
        assert flagged("missing TransferSyntaxUID")

    def test_unknown_keyword_is_always_missing(self):
        with pytest.raises(deidlang.RecipeError) as caught:  # W201 stops the recipe by default
            flagged("missing Manfacturer")
        assert [d.code for d in caught.value.refused] == ["W201"]
        assert flagged("missing Manfacturer", allow=["W201"])
        assert not flagged("contains Manfacturer .", allow=["W201"])

    def test_keyword_case(self):
        # CC54: deid looks keywords up case-sensitively ('modality' is always missing;
        # checker W411); deidlang reads the canonical keyword
        assert not flagged("missing modality")
        assert flagged("contains MODALITY CT")

    def test_tag_forms(self):
        # CC54: deid compares 0x forms against the element's repr and never finds (gggg,eeee);
        # every tag form reads the element's value here (checker W411)
        assert not flagged("contains 0x00080060 Modality")
        assert flagged("equals 0x00080060 CT")
        assert flagged("contains (0008,0060) CT")
        assert flagged("equals 00080060 CT")
        assert not flagged("empty 00080060")
        assert flagged("present (0029,1010)")

    def test_field_expressions(self):
        # other forms select as in the header, nested elements included (checker W411)
        assert flagged("contains ReferencedImageSequence__ReferencedSOPInstanceUID 1.2.3.4.7")
        assert flagged("equals (0008,1140)__1__(0008,1155) 1.2.3.4.7")
        assert not flagged("equals (0008,1140)__0__(0008,1155) 1.2.3.4.7")
        assert flagged('contains (0029,"ACME: Corp",10) 2023')
        assert flagged("contains contains:Physician Smith")
        assert not flagged("contains contains:Physician Doe")
        assert flagged("present endswith:InstanceUID")
        assert flagged("contains ALL Jane")
        assert flagged("missing contains:NoSuchThing")

    def test_group_references(self):
        text = (
            "FORMAT dicom\n%values names\nFIELD PatientName\n%fields dates\nFIELD endswith:Date\n"
            "%filter f\nLABEL a\ncontains fields:dates ^1980\nLABEL b\npresent values:names\n"
            "LABEL c\ncontains fields:dates ^2099\n"
        )
        labels = [m.label for m in deidlang.compile(text).inspect(S()).matches]
        assert labels == ["a", "b"]


# --------------------------------------------------------------------------- chains and lines


class TestChains:
    def test_cc49_line_level_or(self):
        # deid ANDs every line (False); deidlang ORs a line that starts with '||' (checker W409)
        assert flagged("contains Modality CT", "|| contains Modality MR")
        assert flagged("contains Modality MR", "|| contains Modality CT")
        assert flagged("contains Modality MR || contains Modality CT")

    def test_line_level_and(self):
        assert flagged("contains Modality CT", "+ contains Manufacturer siemens")
        assert not flagged("contains Modality CT", "+ contains Manufacturer ge")
        assert not flagged("contains Modality CT", "contains Manufacturer ge")  # no operator: AND

    def test_lines_fold_left_to_right(self):
        # (L1 and L2) or L3
        assert flagged("contains Modality MR", "+ contains Modality MR", "|| contains Modality CT")
        # (L1 or L2) and L3
        assert not flagged("contains Modality CT", "|| contains Modality MR", "+ contains Modality MR")

    def test_a_leading_operator_on_the_first_line_is_ignored(self):
        assert flagged("|| contains Modality CT")
        assert flagged("+ contains Modality CT")

    def test_cc50_inline_chains_fold_left_to_right(self):
        assert not flagged("contains Modality MR || contains Modality CT + contains Modality MR")
        assert flagged("contains Modality MR + contains Modality MR || contains Modality CT")
        assert flagged("contains Modality CT || contains Modality MR + contains Manufacturer siemens")

    def test_cc51_each_criterion_uses_its_own_value(self):
        # deid pairs values by position: the contains gets no value and the label fails (W410)
        assert flagged("missing PatientComments + contains Modality CT")
        assert flagged("present Modality + equals Modality CT + missing PatientComments")

    def test_cc53_comments_are_not_part_of_the_value(self):
        assert flagged("contains Modality CT # comment")
        assert flagged("contains Modality ^ct$")
        assert flagged("equals Modality ct")


# --------------------------------------------------------------------------- labels, groups, results


class TestLabels:
    def test_cc55_a_first_label_without_criteria_is_flagged(self):
        # deid crashes (UnboundLocalError; checker W412); coordinates alone always flag
        result = program("coordinates 0,0,2,2", label="only").inspect(S())
        assert result.flagged
        assert result.matches[0].reason == " only"
        assert result.regions == (Region(False, (0, 0, 2, 2), "<string>"),)

    def test_a_label_without_criteria_or_coordinates_never_flags(self):
        text = "FORMAT dicom\n%filter f\nLABEL nothing\nLABEL t\ncontains Modality CT\n"
        assert [m.label for m in deidlang.compile(text).inspect(S()).matches] == ["t"]

    def test_match_fields(self):
        p = program("contains Modality CT || contains Modality MR", "+ missing PatientComments", "coordinates 1,2,3,4", label="CT Dose")
        (m,) = p.inspect(S()).matches
        assert isinstance(m, LabelMatch)
        assert (m.group, m.label, m.recipe) == ("f", "CT Dose", "<string>")
        assert m.criteria == (Criterion("Modality", "contains", "CT"), Criterion("PatientComments", "missing", None))
        assert str(m.criteria[0]) == "Modality contains CT"
        assert m.span.line == 3
        assert m.regions[0].span.line == 6

    def test_reasons_in_deids_format(self):
        def reason(*lines):
            return program(*lines).inspect(S()).matches[0].reason

        assert reason("contains Modality CT") == " Modality contains CT"
        assert reason("contains Manufacturer siemens", "+ equals Rows 4") == "and Manufacturer contains siemens Rows equals 4"
        assert reason("contains Modality MR || contains Modality CT") == " Modality contains MR or Modality contains CT"
        assert reason("present Modality") == " Modality present "
        assert reason("contains ManufacturerModelName SOMATOM Definition AS+") == " ManufacturerModelName contains SOMATOM Definition AS+"

    def test_cc56_every_group_is_evaluated_in_order(self):
        text = (
            "FORMAT dicom\n%filter first\nLABEL A\ncontains Modality CT\ncoordinates 0,0,1,1\n"
            "%filter second\nLABEL B\ncontains Manufacturer siemens\n+ equals Rows 4\n"
        )
        result = deidlang.compile(text).inspect(S())
        assert [(m.group, m.label) for m in result.matches] == [("first", "A"), ("second", "B")]
        assert result.group == "first"
        assert result.groups() == ("first", "second")
        single = compat.has_burned_pixels(S(), deid=_recipe(text))
        assert single == {
            "flagged": True,
            "results": [
                {"reason": " Modality contains CT", "group": "first", "coordinates": [[0, "0,0,1,1"]], "label": "A"},
                {"reason": "and Manufacturer contains siemens Rows equals 4", "group": "second", "coordinates": [], "label": "B"},
            ],
        }

    def test_same_named_groups_merge_in_order(self):
        text = "FORMAT dicom\n%filter g\nLABEL one\npresent Modality\n%filter h\nLABEL two\npresent Modality\n%filter g\nLABEL three\npresent Modality\n"
        result = deidlang.compile(text).inspect(S())
        assert [(m.group, m.label) for m in result.matches] == [("g", "one"), ("g", "three"), ("h", "two")]

    def test_no_filters(self):
        assert deidlang.compile("FORMAT dicom\n%header\nREMOVE PatientName\n").inspect(S()) == Inspection(())


class TestCoordinates:
    def test_forms_and_order(self):
        p = program(
            "present Modality",
            "coordinates 1,2,4,3",
            "ctpcoordinates 1,2,3,1",
            "keepcoordinates all",
            "ctpkeepcoordinates 0,0,5,5",
            "coordinates all",
        )
        got = [(r.keep, r.box) for r in p.inspect(S()).regions]
        assert got == [(False, (1, 2, 4, 3)), (False, (1, 2, 4, 3)), (True, None), (True, (0, 0, 5, 5)), (False, None)]
        assert p.inspect(S()).regions[2].is_whole_image

    def test_from_regions_per_file(self):
        # CC59: deid rewrites the recipe with the first file's regions and reuses them
        p = program("present SequenceOfUltrasoundRegions", "coordinates all", "keepcoordinates from:SequenceOfUltrasoundRegions")
        first, second = S(), S()
        first.SequenceOfUltrasoundRegions = regions((1, 1, 2, 2))
        second.SequenceOfUltrasoundRegions = regions((0, 0, 9, 9), (3, 4, 5, 6))
        before = pickle.dumps(p)
        a, b = p.inspect(first), p.inspect(second)
        assert [(r.keep, r.box) for r in a.regions] == [(False, None), (True, (1, 1, 2, 2))]
        assert [(r.keep, r.box) for r in b.regions] == [(False, None), (True, (0, 0, 9, 9)), (True, (3, 4, 5, 6))]
        assert p.inspect(first) == a
        assert pickle.dumps(p) == before

    def test_from_items_without_a_full_box_give_nothing(self):
        p = program("coordinates from:SequenceOfUltrasoundRegions")
        ds = S()
        ds.SequenceOfUltrasoundRegions = regions((1, 1, 2, 2))
        del ds.SequenceOfUltrasoundRegions[0].RegionLocationMaxY1
        (m,) = p.inspect(ds).matches
        assert m.regions == ()
        assert p.inspect(S()).matches[0].regions == ()  # no sequence at all

    def test_compat_from_coordinates(self):
        text = "FORMAT dicom\n%filter g\nLABEL us\npresent SequenceOfUltrasoundRegions\ncoordinates all\nkeepcoordinates from:SequenceOfUltrasoundRegions\n"
        one, two = S(), S()
        one.SequenceOfUltrasoundRegions = regions((1, 1, 2, 2))
        two.SequenceOfUltrasoundRegions = regions((0, 0, 9, 9))
        one.filename, two.filename = "/x/one.dcm", "/x/two.dcm"
        result = compat.has_burned_pixels([one, two, S()], deid=_recipe(text))
        coords = [v["results"][0]["coordinates"] for v in result["flagged"].values()]
        assert coords == [[[0, "all"], [1, ["1,1,2,2"]]], [[0, "all"], [1, ["0,0,9,9"]]]]
        assert list(result["flagged"]) == ["/x/one.dcm", "/x/two.dcm"]  # datasets: keyed by file name
        assert len(result["clean"]) == 1


# --------------------------------------------------------------------------- purity


class TestPurity:
    def test_the_dataset_is_not_changed(self):
        ds = fixtures.build_S()
        raw_before = sum(isinstance(e, RawDataElement) for e in ds._dict.values())
        reference = copy.deepcopy(ds)
        p = program(
            "contains Modality CT",
            "+ present ReferencedImageSequence",
            "+ contains ImageType primary",
            "+ contains ReferencedImageSequence__ReferencedSOPInstanceUID 1.2.3.4.7",  # walks the items
            '+ present (0029,"ACME: Corp",10)',
            "coordinates 0,0,1,1",
        )
        assert p.inspect(ds).flagged
        assert p.inspect(ds) == p.inspect(ds)
        assert raw_before > 0
        assert sum(isinstance(e, RawDataElement) for e in ds._dict.values()) == raw_before  # nothing converted in place
        assert ds == reference

    def test_pickled_program_gives_the_same_inspection(self):
        p = program("contains Modality CT || missing PatientComments", "coordinates 0,0,3,3")
        q = pickle.loads(pickle.dumps(p))
        assert q == p
        assert q.inspect(S()) == p.inspect(S())

    def test_a_failing_label_raises_apply_error_naming_the_file(self):
        ds = Dataset()
        tag = 0x00280010  # Rows, with bytes that do not decode as the VR says
        ds._dict[tag] = RawDataElement(tag, "SQ", 5, b"\x01\x02\x03\x04\x05", 0, False, True)
        with pytest.raises(deidlang.ApplyError) as info:
            program("equals Rows 4").inspect(ds, path="/data/bad.dcm")
        err = info.value
        assert (err.code, err.span.line, err.path) == ("R004", 3, "/data/bad.dcm")
        assert "label 't'" in str(err) and err.__cause__ is not None

    def test_inspect_rejects_non_datasets(self):
        with pytest.raises(TypeError):
            program("present Modality").inspect({"Modality": "CT"})


# --------------------------------------------------------------------------- compat facade


def _recipe(text: str):
    import tempfile

    folder = tempfile.mkdtemp(prefix="deidlang-test-")
    path = Path(folder) / "deid.filters"
    path.write_text(text)
    return compat.DeidRecipe(str(path))


class TestCompat:
    def test_single_and_multi_shapes(self, tmp_path):
        one = fixtures.write_S(tmp_path / "one.dcm")
        two_ds = fixtures.make_S()
        two_ds.Modality = "MR"
        two = fixtures.write_dataset(two_ds, tmp_path / "two.dcm")
        recipe = _recipe("FORMAT dicom\n%filter g\nLABEL ct\ncontains Modality CT\nctpcoordinates 1,2,3,4\n")
        single = compat.has_burned_pixels(str(one), deid=recipe)
        assert single == {"flagged": True, "results": [{"reason": " Modality contains CT", "group": "g", "coordinates": [[0, "1,2,4,6"]], "label": "ct"}]}
        multi = compat.has_burned_pixels([str(one), str(two)], deid=recipe)
        assert multi == {"clean": [str(two)], "flagged": {str(one): single}}

    def test_deids_strings(self):
        text = (
            "FORMAT dicom\n%filter  spaced\nLABEL CT Dose # comment\n  contains Modality CT\n"
            "  + present Rows\n  coordinates 450,0,672, 85\nlabel later\n  coordinates 1,1,2,2\n"
        )
        result = compat.has_burned_pixels(S(), deid=_recipe(text))
        assert [r["group"] for r in result["results"]] == [" spaced", " spaced"]
        assert result["results"][0]["coordinates"] == [[0, "450,0,672, 85"]]
        assert [r["label"] for r in result["results"]] == ["CT Dose", "later"]
        # a label without criteria: deid shows its name after the operator of the last
        # criterion line it evaluated ("and" here)
        assert result["results"][1]["reason"] == "and later"

    def test_program_input(self):
        p = program("contains Modality CT", "coordinates all", "keepcoordinates 1,1,2,2")
        assert compat.has_burned_pixels(S(), deid=p) == {
            "flagged": True,
            "results": [{"reason": " Modality contains CT", "group": "f", "coordinates": [[0, "all"], [1, "1,1,2,2"]], "label": "t"}],
        }

    def test_recipe_without_filters_warns(self):
        recipe = _recipe("FORMAT dicom\n%header\nREMOVE PatientName\n")
        with pytest.warns(UserWarning, match="no %filter"):
            assert compat.has_burned_pixels(S(), deid=recipe) == {"flagged": False, "results": []}

    def test_signatures_match_deid(self):
        import inspect

        clean = pytest.importorskip("deid.dicom.pixels.clean")
        detect = pytest.importorskip("deid.dicom.pixels.detect")

        def params(fn):
            return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()]

        assert params(compat.has_burned_pixels) == params(detect.has_burned_pixels)
        assert params(compat.clean_pixel_data) == params(clean.clean_pixel_data)
        for name in ("__init__", "detect", "clean", "save_dicom", "save_png"):
            assert params(getattr(compat.DicomCleaner, name)) == params(getattr(clean.DicomCleaner, name)), name

    def test_cleaner_detect_and_clean_before_detect(self, tmp_path):
        cleaner = compat.DicomCleaner(
            output_folder=str(tmp_path), deid=_recipe("FORMAT dicom\n%filter g\nLABEL t\ncontains Modality CT\ncoordinates 0,0,1,1\n")
        )
        with pytest.warns(UserWarning, match="detect"):
            assert cleaner.clean() is None
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = cleaner.detect(S())
        assert result is cleaner.results
        assert result["flagged"] and result["results"][0]["coordinates"] == [[0, "0,0,1,1"]]
        with pytest.raises(deidlang.DeidlangError, match="image_type"):
            cleaner.save_png(image_type="thumbnail")

    def test_results_to_regions(self):
        from deidlang.compat.pixels import regions_from_results

        results = {"results": [{"coordinates": [[0, "all"], [1, ["1,1,2,2", " 3, 4,5,6"]], [0, "-2,0,8,1"]]}]}
        assert regions_from_results(results) == [
            Region(False, None),
            Region(True, (1, 1, 2, 2)),
            Region(True, (3, 4, 5, 6)),
            Region(False, (-2, 0, 8, 1)),
        ]
        with pytest.raises(deidlang.DeidlangError, match="cannot read coordinates 'from:X'"):
            regions_from_results({"results": [{"coordinates": [[0, "from:X"]]}]})


# --------------------------------------------------------------------------- DicomCleaner (needs deidlang.pixels)


def _cleaner(tmp_path, *lines: str) -> compat.DicomCleaner:
    text = "FORMAT dicom\n%filter f\nLABEL t\n" + "\n".join(lines) + "\n"
    return compat.DicomCleaner(output_folder=str(tmp_path / "out"), deid=_recipe(text))


class TestCleaner:
    @pytest.fixture(autouse=True)
    def _needs_pixels(self):
        pytest.importorskip("deidlang.pixels")
        self.np = pytest.importorskip("numpy")

    @pytest.mark.parametrize(
        "lines, zeros",
        [
            (["coordinates 1,2,4,3"], {(2, 1), (2, 2), (2, 3)}),
            (["ctpcoordinates 1,2,3,1"], {(2, 1), (2, 2), (2, 3)}),
            (["coordinates all", "keepcoordinates 1,1,3,3"], {(r, c) for r in range(6) for c in range(8)} - {(1, 1), (1, 2), (2, 1), (2, 2)}),
            (["keepcoordinates 1,1,3,3", "coordinates all"], {(r, c) for r in range(6) for c in range(8)}),
            (["coordinates -2,0,8,1"], {(0, 6), (0, 7)}),
        ],
    )
    def test_cc57_coordinate_conventions(self, tmp_path, lines, zeros):
        path = fixtures.write_dataset(fixtures.make_P(), tmp_path / "P.dcm")
        cleaner = _cleaner(tmp_path, "present Rows", *lines)
        cleaner.detect(str(path))
        cleaned = cleaner.clean()
        assert cleaned is cleaner.cleaned and cleaned.shape == (6, 8)
        assert {(int(r), int(c)) for r, c in zip(*self.np.nonzero(cleaned == 0))} == zeros
        assert set(self.np.unique(cleaned)) <= {0, 9}

    def test_cc58_multi_frame_and_save_dicom(self, tmp_path):
        from pydicom import dcmread

        path = fixtures.write_dataset(fixtures.make_M(), tmp_path / "M.dcm")
        cleaner = _cleaner(tmp_path, "present Rows", "coordinates 1,1,3,2")
        cleaner.detect(str(path))
        cleaned = cleaner.clean()
        assert [int(frame.sum()) for frame in cleaned] == [90, 90, 90]
        out = cleaner.save_dicom()
        assert out == str(tmp_path / "out" / "cleaned-M.dcm")
        saved = dcmread(out)
        assert saved.PatientName == "Doe^John"  # no header de-identification, as in deid
        assert self.np.array_equal(saved.pixel_array, cleaned)
        assert dcmread(path).pixel_array.sum() == 300  # the input is untouched

    def test_unflagged_file_is_an_unchanged_copy(self, tmp_path):
        path = fixtures.write_dataset(fixtures.make_P(), tmp_path / "P.dcm")
        cleaner = _cleaner(tmp_path, "contains Modality MR", "coordinates all")
        assert cleaner.detect(str(path)) == {"flagged": False, "results": []}
        assert self.np.array_equal(cleaner.clean(), cleaner.original)
        assert int(cleaner.original.sum()) == 9 * 48

    def test_save_png_cleaned_and_original(self, tmp_path):
        pytest.importorskip("PIL")
        from PIL import Image

        path = fixtures.write_dataset(fixtures.make_P(), tmp_path / "P.dcm")
        cleaner = _cleaner(tmp_path, "present Rows", "coordinates 0,0,4,6")
        cleaner.detect(str(path))
        with pytest.warns(UserWarning, match="clean"):
            assert cleaner.save_png() is None  # before clean(), as in deid
        original = cleaner.save_png(image_type="original", title="before")
        assert original == str(tmp_path / "out" / "original-P.png")
        cleaner.clean()
        cleaned = cleaner.save_png(str(tmp_path / "png"))
        assert cleaned == str(tmp_path / "png" / "cleaned-P.png")
        assert Image.open(cleaned).size[0] >= 8 and Image.open(original).size[0] >= 8

    def test_save_dicom_original_and_dataset_input(self, tmp_path):
        from pydicom import dcmread

        ds = fixtures.read_back(fixtures.make_P())
        cleaner = _cleaner(tmp_path, "present Rows", "coordinates all")
        cleaner.detect(ds)
        cleaner.clean()
        out = cleaner.save_dicom(image_type="original")
        assert os.path.basename(out) == "original-dataset.dcm"
        assert int(dcmread(out).pixel_array.sum()) == 9 * 48
        assert int(dcmread(cleaner.save_dicom()).pixel_array.sum()) == 0
        assert int(ds.pixel_array.sum()) == 9 * 48  # the caller's dataset is not changed

    def test_clean_pixel_data(self, tmp_path):
        path = fixtures.write_dataset(fixtures.make_P(), tmp_path / "P.dcm")
        results = {"flagged": True, "results": [{"coordinates": [[0, "all"], [1, "0,0,2,2"]]}]}
        arr = compat.clean_pixel_data(str(path), results)
        assert int(arr.sum()) == 9 * 4
