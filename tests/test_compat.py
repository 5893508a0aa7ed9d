"""deidlang.compat: deid 0.4.13's Python API, checked against the installed deid.

The facade must keep deid's names, signatures and return shapes; where deid
exits, crashes or silently does nothing, it raises instead (docs/compat.md).
"""

from __future__ import annotations

import inspect
import os
import shutil
import sys
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402

import deidlang  # noqa: E402
from deidlang import compat  # noqa: E402
from deidlang.compat import recipe as compat_recipe  # noqa: E402
from deidlang.dicomio import damage
from deidlang.lang.diagnostics import DeidlangError  # noqa: E402
from deidlang.lang.parser import parse  # noqa: E402

os.environ.setdefault("MESSAGELEVEL", "-10")
deid_config = pytest.importorskip("deid.config")
deid_dicom = pytest.importorskip("deid.dicom")
import deid.logger  # noqa: E402

deid.logger.bot.level = -10

HERE = Path(__file__).resolve().parent
DIFF_RECIPES = sorted((HERE / "recipes" / "diff").glob("*.dicom"))
DEID_DATA = Path(deid_config.__file__).resolve().parent.parent / "data"
SHIPPED = [DEID_DATA / "deid.dicom", DEID_DATA / "deid.dicom.ultrasound", DEID_DATA / "deid.dicom.xray.chest"]


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def paths(tmp_path_factory) -> dict[str, str]:
    return corpus.materialize(tmp_path_factory.mktemp("compat-corpus"), ("S", "S_dt", "deep", "private", "filemeta", "CT_small", "cookie1"))


@pytest.fixture
def s_file(paths, tmp_path) -> str:
    """A private copy of S (tests that save must not touch the shared corpus)."""
    target = tmp_path / "in" / "S.dcm"
    target.parent.mkdir()
    shutil.copy(paths["S"], target)
    return str(target)


# --------------------------------------------------------------------------- API shape


#: deidlang's keyword-only additions to deid's signatures (docs/compat.md): the opt-out
#: from refusing a recipe that would leak (deidlang.lang.diagnostics.refusing), and the lookup
#: tables of replace_identifiers (deidlang.tables).
DEIDLANG_ADDITIONS = {("allow", inspect.Parameter.KEYWORD_ONLY, ()), ("tables", inspect.Parameter.KEYWORD_ONLY, None)}


def _params(fn) -> list[tuple]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values() if (p.name, p.kind, p.default) not in DEIDLANG_ADDITIONS]


def test_the_additions_are_there() -> None:
    for fn in (compat.DeidRecipe.__init__, compat.replace_identifiers):
        assert inspect.signature(fn).parameters["allow"].kind == inspect.Parameter.KEYWORD_ONLY


@pytest.mark.parametrize(
    "name",
    ["get_files", "get_identifiers", "replace_identifiers", "remove_private_identifiers"],
)
def test_function_signatures_match_deid(name: str) -> None:
    assert _params(getattr(compat, name)) == _params(getattr(deid_dicom, name))


def test_get_dataset_signature_matches_deid() -> None:
    from deid.data import get_dataset

    assert _params(compat.get_dataset) == _params(get_dataset)


DEID_RECIPE_METHODS = [
    "__init__", "get_format", "get_actions", "get_filters", "get_values_lists", "get_fields_lists",
    "has_actions", "has_values_lists", "has_fields_lists", "ls_filters", "ls_valuelists",
    "ls_fieldlists", "listof", "load",
]  # fmt: skip


@pytest.mark.parametrize("method", DEID_RECIPE_METHODS)
def test_deid_recipe_methods_match_deid(method: str) -> None:
    assert _params(getattr(compat.DeidRecipe, method)) == _params(getattr(deid_config.DeidRecipe, method))


def test_get_files_is_a_generator(paths) -> None:
    assert inspect.isgenerator(compat.get_files(paths["S"]))


def test_no_exit_and_no_print_in_the_facade() -> None:
    folder = Path(compat.__file__).parent
    for source in folder.glob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert "sys.exit" not in text and "print(" not in text, source.name


# --------------------------------------------------------------------------- DeidRecipe: the dict


@pytest.mark.parametrize("path", DIFF_RECIPES + SHIPPED, ids=lambda p: p.name)
def test_deid_dict_equals_deids(path: Path) -> None:
    """The parsed dict (and its key order) is deid's, for every test recipe and deid's own three
    (some of them have dead lines on purpose: let them through)."""
    ours = compat.DeidRecipe(str(path), allow=True)
    theirs = deid_config.DeidRecipe(str(path))
    assert ours.deid == theirs.deid
    assert list(ours.deid) == list(theirs.deid)
    assert ours.get_actions() == theirs.get_actions()
    assert ours.get_format() == theirs.get_format()
    assert ours.ls_filters() == theirs.ls_filters()
    assert ours.ls_valuelists() == theirs.ls_valuelists()
    assert ours.ls_fieldlists() == theirs.ls_fieldlists()
    assert ours.has_actions() == theirs.has_actions()
    assert ours.has_values_lists() == theirs.has_values_lists()
    assert ours.has_fields_lists() == theirs.has_fields_lists()


@pytest.mark.parametrize("path", DIFF_RECIPES + SHIPPED, ids=lambda p: p.name)
def test_rendered_dict_parses_back_to_the_same_dict(path: Path) -> None:
    d = compat.DeidRecipe(str(path), allow=True).deid
    assert compat_recipe.deid_dict(parse(compat_recipe.render_deid(d))) == d


RECIPE_A = """FORMAT dicom
%values va
FIELD PatientID
%fields fa
FIELD PatientName
%filter f
LABEL A1
contains Modality CT
%labels
ADD SeriesDescription a
%header
REMOVE PatientName
"""
RECIPE_B = """FORMAT dicom
%values vb
SPLIT PatientName by=^
%fields fa
FIELD PatientID
%filter f
LABEL B1
contains Modality MR
%filter g
LABEL B2
present Rows
%labels
ADD SeriesDescription b
%header
REPLACE PatientID x
"""


def test_accessors_and_filters(tmp_path) -> None:
    a = write(tmp_path, "deid.a", RECIPE_A)
    ours, theirs = compat.DeidRecipe(a), deid_config.DeidRecipe(a)
    assert str(ours) == repr(ours) == "[deid]"
    for args in [("REMOVE", None), ("remove", "patientname"), (None, "PatientName"), ("ADD", None)]:
        assert ours.get_actions(*args) == theirs.get_actions(*args)
    assert ours.get_filters("f") == theirs.get_filters("f")
    assert ours.get_filters("nope") == theirs.get_filters("nope") == []
    assert ours.get_values_lists("va") == theirs.get_values_lists("va")
    assert ours.get_fields_lists() == theirs.get_fields_lists()
    assert ours.listof("filter") == theirs.listof("filter") == ["f"]
    assert ours.deid["labels"] == theirs.deid["labels"]


def test_a_recipe_without_sections_of_a_kind_gives_none(tmp_path) -> None:
    path = write(tmp_path, "deid.h", "FORMAT dicom\n%header\nREMOVE PatientName\n")
    ours, theirs = compat.DeidRecipe(path), deid_config.DeidRecipe(path)
    for name in ("get_filters", "get_values_lists", "get_fields_lists"):
        assert getattr(ours, name)() is None is getattr(theirs, name)()
        assert getattr(ours, name)("x") is None is getattr(theirs, name)("x")


def test_merging_appends_groups_where_deid_replaces_or_drops(tmp_path) -> None:
    a, b = write(tmp_path, "deid.a", RECIPE_A), write(tmp_path, "deid.b", RECIPE_B)
    ours, theirs = compat.DeidRecipe([a, b]), deid_config.DeidRecipe([a, b])
    assert ours.get_actions() == theirs.get_actions()  # header: concatenated in both
    assert [x["name"] for x in theirs.get_filters("f")] == ["LABEL B1"]  # deid: replaced
    assert [x["name"] for x in ours.get_filters("f")] == ["LABEL A1", "LABEL B1"]
    assert ours.ls_filters() == theirs.ls_filters() == ["f", "g"]
    assert theirs.ls_valuelists() == ["va"]  # deid: first recipe only
    assert ours.ls_valuelists() == ["va", "vb"]
    assert [x["field"] for x in ours.get_fields_lists("fa")] == ["PatientName", "PatientID"]
    assert [x["value"] for x in ours.deid["labels"]] == ["a", "b"]


def test_merged_recipe_applies_both_headers(tmp_path, paths) -> None:
    a, b = write(tmp_path, "deid.a", RECIPE_A), write(tmp_path, "deid.b", RECIPE_B)
    ds = compat.replace_identifiers(paths["S"], deid=compat.DeidRecipe([a, b]))[0]
    assert "PatientName" not in ds and ds.PatientID == "x"


def test_base_appends_the_default_without_touching_the_callers_list(tmp_path) -> None:
    a = write(tmp_path, "deid.a", "FORMAT dicom\n%header\nREPLACE PatientName X\n")
    given = [a]
    ours = compat.DeidRecipe(given, base=True)
    assert given == [a]
    default = compat.DeidRecipe()
    assert ours.get_actions() == [{"action": "REPLACE", "field": "PatientName", "value": "X"}] + default.get_actions()


def test_none_means_deidlangs_bundled_default() -> None:
    bundled = compat_recipe.bundled_recipe("dicom")
    if bundled is None:
        pytest.skip("deidlang/data/default.dicom is not there")
    default = compat.DeidRecipe()
    assert default.get_actions() == compat.DeidRecipe(str(bundled)).get_actions()
    assert default.has_actions()
    assert default.get_actions() == compat.DeidRecipe("dicom").get_actions()


def test_entries_may_be_dicts_directories_and_recipes(tmp_path) -> None:
    a = write(tmp_path, "deid.a", RECIPE_A)
    folder = tmp_path / "dir"
    folder.mkdir()
    write(folder, "readme.txt", "not a recipe")
    write(folder, "deid.dicom", RECIPE_B)
    by_dir = compat.DeidRecipe(str(folder))
    assert by_dir.get_actions() == compat.DeidRecipe(str(folder / "deid.dicom")).get_actions()
    base = compat.DeidRecipe(a)
    from_dict = compat.DeidRecipe(deid_config.DeidRecipe(a).deid)
    assert from_dict.deid == base.deid
    assert compat.DeidRecipe(base).deid == base.deid
    assert compat.DeidRecipe(deid_config.DeidRecipe(a)).deid == base.deid  # deid's own object
    assert compat.DeidRecipe(Path(a)).deid == base.deid


def test_recipe_without_format_loads(tmp_path) -> None:
    """deid's DeidRecipe crashes with KeyError('format'); the facade loads it (FORMAT is optional)."""
    path = write(tmp_path, "deid.nofmt", "%header\nREMOVE PatientName\n")
    recipe = compat.DeidRecipe(path)
    assert recipe.get_format() is None
    assert recipe.get_actions() == [{"action": "REMOVE", "field": "PatientName"}]


# --------------------------------------------------------------------------- DeidRecipe: errors


@pytest.mark.parametrize("entry", ["/nonexistent/deid.typo", "", "dicom.nosuchtag"])
def test_missing_recipe_raises_file_not_found(entry: str) -> None:
    """deid warns and then de-identifies nothing (quirk 21); the facade refuses."""
    with pytest.raises(compat.RecipeNotFoundError) as info:
        compat.DeidRecipe(entry)
    assert isinstance(info.value, FileNotFoundError)
    assert isinstance(info.value, deidlang.DeidlangError)
    with pytest.raises(FileNotFoundError):
        compat.replace_identifiers([], deid=entry)


def test_directory_without_recipe_raises(tmp_path) -> None:
    with pytest.raises(compat.RecipeNotFoundError, match="no recipe file"):
        compat.DeidRecipe(str(tmp_path))


def test_empty_list_raises() -> None:
    """deid: ``deid=[]`` applies nothing, with a warning; the facade refuses."""
    with pytest.raises(deidlang.DeidlangError, match="no recipe given"):
        compat.DeidRecipe([])


@pytest.mark.parametrize("tag", ["dicom.ultrasound", "dicom.xray.chest"])
def test_deid_only_tag_names_itself_and_offers_what_is_shipped(tag) -> None:
    with pytest.raises(compat.RecipeNotFoundError) as info:
        compat.DeidRecipe(tag)
    assert str(info.value) == f"deid's recipe '{tag}' is not shipped with deidlang (the tags it serves: 'dicom'); pass deid's recipe file by its path"


def test_unknown_tag_offers_only_shipped_tags() -> None:
    with pytest.raises(compat.RecipeNotFoundError) as info:
        compat.DeidRecipe("dicom.nosuchtag")
    assert str(info.value) == "cannot find recipe 'dicom.nosuchtag': not a file, a directory or one of the tags 'dicom'"
    for tag in compat_recipe.BUNDLED:
        assert compat_recipe.bundled_recipe(tag) is not None, f"{tag} is offered but not shipped"


def test_unshipped_tag_names_itself(monkeypatch) -> None:
    monkeypatch.setattr(compat_recipe, "bundled_recipe", lambda tag: None)
    with pytest.raises(compat.RecipeNotFoundError, match="'dicom' is not shipped with deidlang [(]the tags it serves: none[)]"):
        compat.DeidRecipe("dicom")


BAD_RECIPES = {
    "unsupported format": "FORMAT nifti\n%header\nADD PatientName x\n",
    "unknown section": "FORMAT dicom\n%pixels\n",
    "values without a name": "FORMAT dicom\n%values\nFIELD PatientID\n",
    "ADD without a value": "FORMAT dicom\n%header\nADD PatientName\n",
    "action before any section": "FORMAT dicom\nREMOVE PatientName\n",
    "named header": "FORMAT dicom\n%header foo\nADD PatientName x\n",
}


@pytest.mark.parametrize("text", BAD_RECIPES.values(), ids=list(BAD_RECIPES))
def test_bad_recipe_raises_recipe_error_not_system_exit(tmp_path, text: str) -> None:
    path = write(tmp_path, "deid.bad", text)
    with pytest.raises(deidlang.RecipeError) as info:
        compat.DeidRecipe(path)
    assert info.value.errors and all(d.file == path for d in info.value.errors)


def test_bad_entry_type_raises() -> None:
    with pytest.raises(deidlang.DeidlangError, match="cannot use a 'int' as a recipe"):
        compat.DeidRecipe(42)


def test_warnings_are_kept_on_the_recipe(tmp_path) -> None:
    path = write(tmp_path, "deid.w", "FORMAT dicom\n%values v\nFIELD PatientID\n%header\nREMOVE values:v\n")
    assert any(not d.is_error for d in compat.DeidRecipe(path).diagnostics)


# --------------------------------------------------------------------------- the program


def test_program_is_compiled_once_and_again_after_an_edit(tmp_path, paths, monkeypatch) -> None:
    calls = []
    real = compat_recipe.compile_recipe_text
    monkeypatch.setattr(compat_recipe, "compile_recipe_text", lambda *a, **k: calls.append(1) or real(*a, **k))
    path = write(tmp_path, "deid.r", "FORMAT dicom\n%header\nREPLACE PatientName X\n")
    recipe = compat.DeidRecipe(path)
    out = compat.replace_identifiers([paths["S"], paths["S_dt"], paths["deep"]], deid=recipe)
    assert [str(d.PatientName) for d in out] == ["X", "X", "X"]
    compat.replace_identifiers(paths["S"], deid=recipe)
    assert len(calls) == 1
    recipe.deid["header"].append({"action": "REMOVE", "field": "PatientID"})
    ds = compat.replace_identifiers(paths["S"], deid=recipe)[0]
    assert len(calls) == 2 and "PatientID" not in ds and str(ds.PatientName) == "X"


def test_a_path_recipe_is_compiled_once_per_call(tmp_path, paths, monkeypatch) -> None:
    calls = []
    real = compat_recipe.compile_recipe_text
    monkeypatch.setattr(compat_recipe, "compile_recipe_text", lambda *a, **k: calls.append(1) or real(*a, **k))
    path = write(tmp_path, "deid.r", "FORMAT dicom\n%header\nREMOVE PatientID\n")
    compat.replace_identifiers([paths["S"], paths["S_dt"], paths["private"]], deid=path)
    assert len(calls) == 1


def test_load_merges_another_recipe(tmp_path) -> None:
    a, b = write(tmp_path, "deid.a", RECIPE_A), write(tmp_path, "deid.b", RECIPE_B)
    recipe = compat.DeidRecipe(a)
    recipe.load(b)
    assert recipe.deid == compat.DeidRecipe([a, b]).deid


# --------------------------------------------------------------------------- get_files


@pytest.fixture
def tree(tmp_path, paths) -> Path:
    root = tmp_path / "tree"
    (root / "sub" / "deeper").mkdir(parents=True)
    shutil.copy(paths["S"], root / "a.dcm")
    shutil.copy(paths["deep"], root / "sub" / "b.dcm")
    shutil.copy(paths["private"], root / "sub" / "deeper" / "c.DCM")
    (root / "notes.txt").write_text("not dicom")
    (root / "sub" / "empty.dcm").write_bytes(b"")
    return root


def test_get_files_walks_checks_and_filters(tree) -> None:
    found = sorted(compat.get_files(str(tree)))
    assert found == sorted(deid_dicom.get_files(str(tree)))
    assert [os.path.basename(p) for p in found] == ["a.dcm", "b.dcm", "c.DCM"]
    assert sorted(compat.get_files(str(tree), pattern="*.dcm")) == sorted(deid_dicom.get_files(str(tree), pattern="*.dcm"))
    unchecked = sorted(compat.get_files(str(tree), check=False))
    assert unchecked == sorted(deid_dicom.get_files(str(tree), check=False))
    assert len(unchecked) == 5


def test_get_files_takes_files_and_lists(tree) -> None:
    files = [str(tree / "a.dcm"), str(tree / "notes.txt")]
    assert list(compat.get_files(files)) == [str(tree / "a.dcm")]
    assert list(compat.get_files(str(tree / "a.dcm"), pattern="*.txt")) == [str(tree / "a.dcm")]


def test_zips_are_refused_by_get_files_and_deidc_run_with_the_same_reason(tree, tmp_path, capsys) -> None:
    """deid extracts a zip's members (all of them, into the current folder, trusting their
    names) and uses the first; deidlang opens no archive, in the facade or the CLI, and
    says so the same way in both (docs/compat.md, docs/robustness.md)."""
    import zipfile

    from deidlang import cli

    archive = tmp_path / "in" / "one.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as z:
        z.write(tree / "a.dcm", "inside.dcm")
        z.writestr("../escape.dcm", (tree / "a.dcm").read_bytes())  # a member that points outside
    here = os.getcwd()
    with pytest.raises(DeidlangError) as info:
        list(compat.get_files(str(archive)))
    assert str(info.value) == f"cannot read '{archive}': {damage.ZIP_ARCHIVE}"
    with pytest.raises(DeidlangError, match="a zip archive"):
        list(compat.get_files(str(archive.parent)))  # found in a folder: the same
    assert not os.path.exists(os.path.join(here, "inside.dcm")) and not (tmp_path / "escape.dcm").exists()

    code = cli.main(["run", "--input", str(archive.parent), "--output", str(tmp_path / "out"), "--jobs", "1"])
    _, err = capsys.readouterr()
    assert code == 1 and f"failed: {archive}: {damage.ZIP_ARCHIVE}" in err
    assert not [p for p in (tmp_path / "out").rglob("*.dcm")] and not (tmp_path / "escape.dcm").exists()
    # named by its content, not its name; a DICOM file whose preamble starts like a zip is DICOM
    renamed = tmp_path / "in" / "scan.dcm"
    archive.rename(renamed)
    code = cli.main(["run", "--input", str(renamed), "--output", str(tmp_path / "out2"), "--jobs", "1", "--force"])
    assert code == 1 and damage.ZIP_ARCHIVE in capsys.readouterr().err
    dual = bytearray((tree / "a.dcm").read_bytes())
    dual[:4] = b"PK\x03\x04"
    assert dual[128:132] == b"DICM"
    assert not damage.is_zip_archive(bytes(dual)) and damage.is_zip_archive(renamed.read_bytes())


# --------------------------------------------------------------------------- get_identifiers


@pytest.mark.parametrize("name", ["S", "deep", "private", "filemeta", "CT_small", "cookie1"])
def test_get_identifiers_matches_deid(paths, name: str) -> None:
    if name not in paths:
        pytest.skip(f"{name} not installed")
    path = paths[name]
    ours = compat.get_identifiers(path)
    theirs = deid_dicom.get_identifiers(path)
    assert list(ours) == list(theirs) == [os.path.abspath(path)]
    a, b = ours[os.path.abspath(path)], theirs[os.path.abspath(path)]
    assert list(a) == list(b)
    for uid in a:
        assert (a[uid].name, a[uid].uid, a[uid].is_filemeta, a[uid].tag, a[uid].stripped_tag) == (
            b[uid].name, b[uid].uid, b[uid].is_filemeta, b[uid].tag, b[uid].stripped_tag)  # fmt: skip
        assert str(a[uid]) == str(b[uid])
    flat = compat.get_identifiers(path, expand_sequences=False)[os.path.abspath(path)]
    assert list(flat) == list(deid_dicom.get_identifiers(path, expand_sequences=False)[os.path.abspath(path)])


@pytest.mark.parametrize(
    "expression",
    ["patient", "^Referenced", "(0010,0010)", "00100010", "Patient's", "MITRA", '(0033,"MITRA OBJECT UTF8 ATTRIBUTES 1.0",1E)', "private", "sequence$"],
)
def test_dicom_field_name_contains_matches_deid(paths, expression: str) -> None:
    path = os.path.abspath(paths["private"])
    ours = compat.get_identifiers(path)[path]
    theirs = deid_dicom.get_identifiers(path)[path]
    assert [u for u in ours if ours[u].name_contains(expression)] == [u for u in theirs if theirs[u].name_contains(expression)]


@pytest.mark.parametrize("expression", ["VR:DA", "vr:date", "GROUP:0029", "group:10", "tag:x"])
def test_dicom_field_select_and_value_matches_deid(paths, expression: str) -> None:
    path = os.path.abspath(paths["private"])
    ours = compat.get_identifiers(path)[path]
    theirs = deid_dicom.get_identifiers(path)[path]
    assert [u for u in ours if ours[u].select_matches(expression)] == [u for u in theirs if theirs[u].select_matches(expression)]
    for regex in ("2023", "acme", "^P"):
        assert [u for u in ours if ours[u].value_contains(regex)] == [u for u in theirs if theirs[u].value_contains(regex)]


def test_dicom_field_element_is_the_datasets_own(paths) -> None:
    ds = pydicom.dcmread(paths["S"])
    fields = compat.get_identifiers(ds)
    assert list(fields) == [os.path.abspath(paths["S"])]
    field = fields[os.path.abspath(paths["S"])]["(0010,0010)"]
    field.element.value = "Changed^Here"
    assert ds.PatientName == "Changed^Here"


def test_get_identifiers_honours_the_flags_deid_ignores(paths) -> None:
    path = os.path.abspath(paths["private"])
    full = compat.get_identifiers(path)[path]
    no_seq = compat.get_identifiers(path, strip_sequences=True)[path]
    no_private = compat.get_identifiers(path, remove_private=True)[path]
    everything = compat.get_identifiers(path, disable_skip=True)[path]
    assert any("__" in u for u in full) and not any("__" in u for u in no_seq)
    assert not any(f.element.VR == "SQ" for f in no_seq.values())
    assert any(f.element.tag.is_private for f in full.values())
    assert not any(f.element.tag.is_private for f in no_private.values())
    assert "(0009,1010)" not in " ".join(no_private)  # private inside a public item
    assert "(0002,0010)" in everything and "(0002,0010)" not in full
    assert set(full) < set(everything)
    assert pydicom.dcmread(path).private_block(0x0033, "MITRA OBJECT UTF8 ATTRIBUTES 1.0")  # data untouched


def test_get_identifiers_reads_config_skip_lists(paths, tmp_path) -> None:
    import json

    config = tmp_path / "config.json"
    config.write_text(json.dumps({"get": {"skip": ["PatientName", "(0008,1140)"]}, "put": {"actions": []}}))
    path = os.path.abspath(paths["S"])
    fields = compat.get_identifiers(path, config=str(config))[path]
    assert "(0010,0010)" not in fields and "(0008,1140)" not in fields
    assert not any(u.startswith("(0008,1140)__") for u in fields)
    assert "(0002,0010)" in fields  # the default skip list was replaced
    with pytest.raises(deidlang.DeidlangError, match="cannot find config file"):
        compat.get_identifiers(path, config=str(tmp_path / "nope.json"))


# --------------------------------------------------------------------------- replace_identifiers


def test_replace_identifiers_matches_deid_and_takes_ids_and_funcs(tmp_path, paths) -> None:
    recipe = write(
        tmp_path,
        "deid.ids",
        "FORMAT dicom\n%header\nREPLACE PatientID var:newid\nREPLACE PatientName func:name\nADD PatientIdentityRemoved YES\nREMOVE ReferencedSOPInstanceUID\n",
    )
    path = os.path.abspath(paths["S"])
    ids = {path: {"newid": "SUBJ-1", "name": lambda **kw: "Func^Name"}}
    ours = compat.replace_identifiers([path], ids=ids, deid=recipe)[0]
    theirs = deid_dicom.replace_identifiers([path], ids=ids, deid=deid_config.DeidRecipe(recipe))[0]
    assert corpus.diff_datasets(corpus.roundtrip(theirs), corpus.roundtrip(ours)) == []
    assert ours.PatientID == "SUBJ-1" and ours.PatientName == "Func^Name"


def test_ids_may_be_keyed_by_the_path_as_given(tmp_path, paths, monkeypatch) -> None:
    """deid only matches absolute paths; the facade also takes the path the caller used."""
    recipe = write(tmp_path, "deid.v", "FORMAT dicom\n%header\nREPLACE PatientID var:newid\n")
    monkeypatch.chdir(Path(paths["S"]).parent)
    ds = compat.replace_identifiers(["S.dcm"], ids={"S.dcm": {"newid": "REL"}}, deid=recipe)[0]
    assert ds.PatientID == "REL"


def test_datasets_are_changed_in_place_and_plain_datasets_work(tmp_path, paths) -> None:
    recipe = write(tmp_path, "deid.r", "FORMAT dicom\n%header\nREPLACE PatientName X\n")
    ds = pydicom.dcmread(paths["S"])
    assert compat.replace_identifiers(ds, deid=recipe)[0] is ds
    assert ds.PatientName == "X"
    plain = Dataset()
    plain.PatientName = "Plain^Data"
    plain.PatientID = "1"
    out = compat.replace_identifiers([plain], ids={None: {}}, deid=recipe)
    assert out[0] is plain and plain.PatientName == "X"


def test_default_recipe_is_used_when_deid_is_none(paths) -> None:
    if compat_recipe.bundled_recipe("dicom") is None:
        pytest.skip("deidlang/data/default.dicom is not there")
    ds = compat.replace_identifiers(paths["S"])[0]
    expected = compat.DeidRecipe().program.apply(pydicom.dcmread(paths["S"]))
    assert corpus.diff_datasets(corpus.roundtrip(expected), corpus.roundtrip(ds)) == []


def test_a_compiled_program_is_accepted(paths) -> None:
    program = deidlang.compile("FORMAT dicom\n%header\nREMOVE PatientName\n")
    assert "PatientName" not in compat.replace_identifiers(paths["S"], deid=program)[0]


def test_flags_reach_the_runtime(tmp_path, paths) -> None:
    recipe = write(tmp_path, "deid.r", "FORMAT dicom\n%header\nREPLACE PatientName X\n")
    ds = compat.replace_identifiers(paths["private"], deid=recipe, strip_sequences=True, remove_private=True)[0]
    assert not any(e.VR == "SQ" for e in ds) and not any(e.tag.is_private for e in ds)


# --------------------------------------------------------------------------- saving


REMOVE_NAME = "FORMAT dicom\n%header\nREMOVE PatientName\n"


def test_save_creates_the_output_folder(tmp_path, s_file) -> None:
    out = tmp_path / "missing" / "out"
    recipe = write(tmp_path, "deid.r", REMOVE_NAME)
    written = compat.replace_identifiers(s_file, deid=recipe, save=True, output_folder=str(out))
    assert written == [str(out / "S.dcm")]
    assert "PatientName" not in pydicom.dcmread(written[0])
    assert [p.name for p in out.iterdir()] == ["S.dcm"]  # no temporary file left behind


def test_existing_target_warns_returns_the_path_and_is_not_written(tmp_path, s_file) -> None:
    out = tmp_path / "out"
    recipe = write(tmp_path, "deid.r", REMOVE_NAME)
    first = compat.replace_identifiers(s_file, deid=recipe, save=True, output_folder=str(out))
    before = Path(first[0]).read_bytes()
    other = write(tmp_path, "deid.o", "FORMAT dicom\n%header\nREPLACE PatientID CHANGED\n")
    with pytest.warns(UserWarning, match="already exists and overwrite is False: not written"):
        second = compat.replace_identifiers(s_file, deid=other, save=True, output_folder=str(out))
    assert second == first and Path(first[0]).read_bytes() == before
    third = compat.replace_identifiers(s_file, deid=other, save=True, output_folder=str(out), overwrite=True)
    assert third == first and pydicom.dcmread(third[0]).PatientID == "CHANGED"


def test_no_folder_writes_to_a_new_temporary_folder_and_leaves_the_input(tmp_path, s_file) -> None:
    before = Path(s_file).read_bytes()
    recipe = write(tmp_path, "deid.r", REMOVE_NAME)
    written = compat.replace_identifiers(s_file, deid=recipe, save=True)[0]
    assert os.path.dirname(written) != os.path.dirname(s_file)
    assert Path(s_file).read_bytes() == before
    assert "PatientName" not in pydicom.dcmread(written)


def test_overwrite_without_folder_replaces_the_input(tmp_path, s_file) -> None:
    recipe = write(tmp_path, "deid.r", REMOVE_NAME)
    written = compat.replace_identifiers(s_file, deid=recipe, save=True, overwrite=True)
    assert written == [os.path.abspath(s_file)]
    assert "PatientName" not in pydicom.dcmread(s_file)


def test_the_input_is_not_overwritten_without_overwrite(tmp_path, s_file) -> None:
    before = Path(s_file).read_bytes()
    recipe = write(tmp_path, "deid.r", REMOVE_NAME)
    with pytest.warns(UserWarning):
        compat.replace_identifiers(s_file, deid=recipe, save=True, output_folder=os.path.dirname(s_file))
    assert Path(s_file).read_bytes() == before


def test_equal_basenames_do_not_collide(tmp_path, paths) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copy(paths["S"], tmp_path / "a" / "x.dcm")
    shutil.copy(paths["deep"], tmp_path / "b" / "x.dcm")
    recipe = write(tmp_path, "deid.r", REMOVE_NAME)
    out = tmp_path / "out"
    written = compat.replace_identifiers([str(tmp_path / "a" / "x.dcm"), str(tmp_path / "b" / "x.dcm")], deid=recipe, save=True, output_folder=str(out))
    assert written == [str(out / "x.dcm"), str(out / "x-1.dcm")]
    assert pydicom.dcmread(written[0]).PatientID == "12345"
    assert pydicom.dcmread(written[1]).PatientID == "D-0001"


def test_datasets_without_a_file_name_are_saved_by_position(tmp_path, paths) -> None:
    ds = pydicom.dcmread(paths["S"])
    ds.filename = None
    recipe = write(tmp_path, "deid.r", REMOVE_NAME)
    written = compat.replace_identifiers([ds], deid=recipe, save=True, output_folder=str(tmp_path / "out"))
    assert written == [str(tmp_path / "out" / "dataset-0.dcm")]
    assert "PatientName" not in pydicom.dcmread(written[0])


def test_unreadable_input_raises(tmp_path) -> None:
    recipe = write(tmp_path, "deid.r", REMOVE_NAME)
    with pytest.raises(deidlang.DeidlangError, match="no such file"):
        compat.replace_identifiers(str(tmp_path / "absent.dcm"), deid=recipe)


# --------------------------------------------------------------------------- the rest


def test_remove_private_identifiers_matches_deid(paths) -> None:
    ours = compat.remove_private_identifiers(paths["private"], save=False)[0]
    theirs = deid_dicom.remove_private_identifiers(paths["private"], save=False)[0]
    assert corpus.diff_datasets(corpus.roundtrip(theirs), corpus.roundtrip(ours)) == []
    assert not any(e.tag.is_private for e in ours)


def test_remove_private_identifiers_saves_by_default(paths, tmp_path) -> None:
    written = compat.remove_private_identifiers(paths["private"], output_folder=str(tmp_path / "o"))
    assert written == [str(tmp_path / "o" / "private.dcm")]
    assert not any(e.tag.is_private for e in pydicom.dcmread(written[0]))


def test_get_dataset() -> None:
    pytest.importorskip("deid_data")
    from deid.data import get_dataset

    assert compat.get_dataset("dicom-cookies") == get_dataset("dicom-cookies")
    assert compat.get_dataset("humans.zip") == get_dataset("humans.zip")
    with pytest.raises(deidlang.DeidlangError, match="unknown dataset 'nope': valid datasets are"):
        compat.get_dataset("nope")
    with pytest.raises(deidlang.DeidlangError, match="no dataset name given"):
        compat.get_dataset()


def test_the_seed_workflow_runs_end_to_end(tmp_path) -> None:
    """deid's docs: get_dataset -> get_files -> get_identifiers -> replace_identifiers(save)."""
    pytest.importorskip("deid_data")
    files = list(compat.get_files(compat.get_dataset("dicom-cookies")))
    assert len(files) == 7
    ids = compat.get_identifiers(files)
    for path in ids:
        ids[path]["id"] = "cookie-47"
    recipe = write(tmp_path, "deid.dicom", "FORMAT dicom\n%header\nADD PatientIdentityRemoved YES\nREPLACE PatientID var:id\n")
    written = compat.replace_identifiers(files, ids=ids, deid=recipe, save=True, output_folder=str(tmp_path / "out"))
    assert len(written) == 7 and len(set(written)) == 7
    for path in written:
        ds = pydicom.dcmread(path)
        assert ds.PatientID == "cookie-47" and ds.PatientIdentityRemoved == "YES"


# --------------------------------------------------------------------------- the facade speaks (issue 11)


TYPO = "FORMAT dicom\n%header\nREMOVE PatientsName\n"


def test_a_recipe_that_would_leak_raises_and_warns(tmp_path, s_file) -> None:
    path = write(tmp_path, "typo.dicom", TYPO)
    with pytest.warns(deidlang.DeidlangWarning) as caught, pytest.raises(deidlang.RecipeError) as err:
        compat.DeidRecipe(path)
    assert [d.code for d in err.value.refused] == ["E214"]
    (warning,) = [w for w in caught if issubclass(w.category, deidlang.DeidlangWarning)]
    assert f"{path}:3:8: E214" in str(warning.message)
    assert warning.message.diagnostic.code == "E214"
    assert warning.filename == __file__  # attributed to the caller, not to deidlang
    # replace_identifiers with the path, deid's usual call: refused before any file is touched
    before = Path(s_file).read_bytes()
    with pytest.warns(deidlang.DeidlangWarning), pytest.raises(deidlang.RecipeError):
        compat.replace_identifiers([s_file], deid=path, save=True, output_folder=str(tmp_path / "out"))
    assert not (tmp_path / "out").exists() and Path(s_file).read_bytes() == before


def test_the_opt_out_is_a_keyword(tmp_path, s_file) -> None:
    path = write(tmp_path, "typo.dicom", TYPO)
    with pytest.warns(deidlang.DeidlangWarning, match="E214"):
        recipe = compat.DeidRecipe(path, allow=["E214"])
    assert recipe.program is not None
    with pytest.warns(deidlang.DeidlangWarning, match="E214"):
        (ds,) = compat.replace_identifiers([s_file], deid=path, allow=True)
    assert "PatientName" in ds  # let through, the typo does what it says: nothing
    with pytest.raises(deidlang.RecipeError), pytest.warns(deidlang.DeidlangWarning):
        compat.DeidRecipe(path, allow=["W201"])  # another code does not let E214 through
    with pytest.raises(deidlang.DeidlangError, match="unknown diagnostic code"):
        compat.DeidRecipe(path, allow=["E9999"])


def test_deid_notes_warn_but_do_not_raise(tmp_path) -> None:
    path = write(tmp_path, "lower.dicom", "FORMAT dicom\n%header\nremove PatientName\n")
    with pytest.warns(deidlang.DeidlangWarning, match=r"lower\.dicom:3:1: W405"):
        recipe = compat.DeidRecipe(path)
    assert recipe.program is not None


def test_the_bundled_recipe_loads_in_silence() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", deidlang.DeidlangWarning)
        assert compat.DeidRecipe().program is not None
        assert compat.DeidRecipe("dicom").program is not None


def test_deids_own_recipe_needs_the_opt_out_for_its_dead_lines() -> None:
    path = str(DEID_DATA / "deid.dicom")
    with pytest.warns(deidlang.DeidlangWarning), pytest.raises(deidlang.RecipeError) as err:
        compat.DeidRecipe(path)
    assert {d.code for d in err.value.refused} == {"W201"} and not err.value.errors
    with pytest.warns(deidlang.DeidlangWarning, match=r"deid\.dicom:840:8: W201"):
        compat.DeidRecipe(path, allow=["W201"])


def test_an_edited_recipe_is_checked_again(tmp_path) -> None:
    recipe = compat.DeidRecipe(write(tmp_path, "ok.dicom", "FORMAT dicom\n%header\nREMOVE PatientName\n"))
    recipe.deid["header"].append({"action": "REMOVE", "field": "PatientsAge"})
    with pytest.warns(deidlang.DeidlangWarning, match="E214"), pytest.raises(deidlang.RecipeError):
        recipe.program  # noqa: B018 - the property compiles the recipe
