"""The server's settings, as the editor sends them (``initializationOptions``
and ``workspace/didChangeConfiguration``, section ``deidlang``):

* ``idsFile``: an ids JSON file (deid's shape), to check ``var:`` names as
  ``deidc check --ids`` does and to complete them;
* ``functionsFile``: a Python file whose public functions are the known
  ``func:`` names (it is executed, as by ``deidc check --functions``);
* ``tables``: ``{name: path}``: the lookup tables ``deid_func:lookup`` reads,
  to check the lookups as ``deidc check --table NAME=PATH`` does;
* ``sampleDicom``: a DICOM file; hovers then say which of its elements a
  line selects and what the recipe does to them;
* ``deidCompat``: show the W4xx findings (``deidc check --deid-compat``);
* ``profile``: ``"basic"`` or null: hovers and diagnostics then include the
  PS3.15 Basic Profile coverage (``deidc check --profile basic``).

Relative paths are resolved against the workspace folder. A setting that
cannot be used is reported as a message and otherwise ignored.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import attrs

from .analysis import Options

__all__ = ["Settings", "load"]

PROFILES = ("basic",)


@attrs.frozen
class Settings:
    ids_file: str | None = None
    functions_file: str | None = None
    tables: Mapping[str, str] = attrs.field(factory=dict, eq=False)
    sample_dicom: str | None = None
    deid_compat: bool = False
    profile: str | None = None
    # loaded
    options: Options = Options()
    functions: Mapping[str, Any] | None = attrs.field(default=None, eq=False)
    sample: Any = attrs.field(default=None, eq=False)  # a pydicom Dataset
    problems: tuple[str, ...] = ()


def _section(raw: Any) -> Mapping[str, Any]:
    if isinstance(raw, Mapping) and isinstance(raw.get("deidlang"), Mapping):
        return raw["deidlang"]
    return raw if isinstance(raw, Mapping) else {}


def _path(value: Any, root: str | None) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    p = os.path.expanduser(value.strip())
    if not os.path.isabs(p) and root:
        p = os.path.join(root, p)
    return os.path.normpath(p)


def _modified(path: str) -> int:
    """A table file's modification time (an SQLite ``PATH#TABLE``: the database's)."""
    return os.stat(path if os.path.exists(path) else path.rpartition("#")[0]).st_mtime_ns


def load(raw: Any, root: str | None = None) -> Settings:
    """Settings from the editor's JSON (the ``deidlang`` section or its content)."""
    from ..cli.common import CliError, load_functions, read_ids

    data = _section(raw)
    problems: list[str] = []
    ids_file = _path(data.get("idsFile"), root)
    functions_file = _path(data.get("functionsFile"), root)
    sample_file = _path(data.get("sampleDicom"), root)
    tables = data.get("tables")
    tables = {str(k): str(v) for k, v in tables.items()} if isinstance(tables, Mapping) else {}
    profile = data.get("profile")
    if profile is not None and profile not in PROFILES:
        problems.append(f"deidlang.profile: unknown profile '{profile}' (known: {', '.join(PROFILES)}); ignored")
        profile = None
    ids = None
    ids_key = None
    if ids_file:
        try:
            ids = read_ids(ids_file)
            ids_key = (ids_file, os.stat(ids_file).st_mtime_ns)
        except (CliError, OSError) as err:
            problems.append(f"deidlang.idsFile: {err}")
    functions = None
    if functions_file:
        try:
            functions = load_functions(functions_file)
        except CliError as err:
            problems.append(f"deidlang.functionsFile: {err}")
    loaded_tables = None
    tables_key = None
    if tables:
        from ..tables import TableError, load_tables

        paths = {name: _path(path, root) or path for name, path in tables.items()}
        try:
            loaded_tables = load_tables(paths)
            tables_key = tuple(sorted((n, p, _modified(p)) for n, p in paths.items()))
        except (TableError, OSError) as err:
            problems.append(f"deidlang.tables: {err}")
            loaded_tables = None
    sample = None
    if sample_file:
        try:
            import pydicom

            sample = pydicom.dcmread(sample_file)
            sample.walk(lambda _ds, _elem: None)  # read it all now: a damaged file is reported here
        except Exception as err:  # noqa: BLE001 - any unreadable file is reported, never fatal
            problems.append(f"deidlang.sampleDicom: cannot read '{sample_file}' as DICOM ({type(err).__name__})")
    options = Options(
        ids=ids,
        ids_key=ids_key,
        functions=tuple(sorted(functions)) if functions is not None else None,
        deid_compat=bool(data.get("deidCompat", False)),
        tables=loaded_tables,
        tables_key=tables_key,
    )
    return Settings(
        ids_file=ids_file,
        functions_file=functions_file,
        tables=tables,
        sample_dicom=sample_file,
        deid_compat=options.deid_compat,
        profile=profile,
        options=options,
        functions=functions,
        sample=sample,
        problems=tuple(problems),
    )


def variables(settings: Settings) -> list[str]:
    """The ``var:`` names the ids supply (for any file)."""
    ids = settings.options.ids or {}
    names: set[str] = set()
    for entry in ids.values():
        if isinstance(entry, Mapping):
            names.update(k for k in entry if isinstance(k, str) and not k.startswith("("))
    return sorted(names)
