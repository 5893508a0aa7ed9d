"""Checks a run makes before it writes anything: inputs and options that cannot be right.

A run that would quietly do less than it was asked -- an ids file whose entries
match none of the inputs while the recipe needs its ``var:`` values, an empty
input folder, ``--quarantine`` naming a group no recipe defines,
``--option retain-safe-private`` while private elements are removed -- stops
here with a :class:`Refusal` whose message says why in plain words (the CLI
exits 1 and writes nothing). The checks read no element values and their
messages quote none: they name paths, options, groups and variable names.

Also here: telling a recipe from a DICOM file by a glance at its first bytes
(``deidc explain`` with its arguments in the wrong order).

Library code: raises, never prints, never exits.
"""

from __future__ import annotations

import os
import re
from typing import Any, Iterable, Mapping, Sequence

from ..lang.diagnostics import DeidlangError

__all__ = [
    "Refusal",
    "recipe_variables",
    "needed_variables",
    "check_options",
    "check_quarantine",
    "check_found",
    "check_ids",
    "looks_like_dicom",
    "looks_like_recipe",
]


class Refusal(DeidlangError):
    """The run cannot do what was asked with these inputs and options: it stops before
    any file is written. The message is the reason (paths and names, never values)."""


# =========================================================================== variables


def recipe_variables(text: str, path: str) -> list[str]:
    """The ``var:`` names one recipe uses, in order of first use."""
    from .. import api
    from ..lang import nodes

    names: list[str] = []
    for section in api.parse(text, path=path).recipe.sections:
        for item in section.body:
            if isinstance(item, nodes.ActionLine) and isinstance(item.value, nodes.VarRef):
                if item.value.name and item.value.name not in names:
                    names.append(item.value.name)
    return names


def needed_variables(texts: Mapping[str, str], funcs: Iterable[str] | None = None) -> list[str]:
    """The ``var:`` names the recipes (``{path: text}``) need from the ids: every one they
    use, except names a ``--functions`` file supplies (the runtime looks both up)."""
    supplied = set(funcs or ())
    out: list[str] = []
    for path, text in texts.items():
        for name in recipe_variables(text, path):
            if name not in supplied and name not in out:
                out.append(name)
    return out


def _names(variables: Sequence[str]) -> str:
    shown = ", ".join(f"var:{v}" for v in variables[:5])
    return shown + (f" and {len(variables) - 5} more" if len(variables) > 5 else "")


# =========================================================================== options and groups


def check_options(names: Iterable[str] | None, *, remove_private: bool) -> None:
    """Refuse a profile option that cannot act with the other options given."""
    from ..privacy import profile

    given = list(dict.fromkeys(names or ()))
    for name in given:
        option = profile.option(name)
        for other, why in option.excludes:
            if other in given:
                raise Refusal(f"--option {name} cannot be combined with --option {other}: {why}")
        if option.keeps_private and remove_private:
            raise Refusal(
                f"--option {name} keeps the private elements it lists, but private elements are removed "
                "(the default): add --keep-private (the option's recipe removes every other private element)"
            )


def check_quarantine(groups: Iterable[str], programs: Sequence) -> None:
    """Refuse ``--quarantine GROUP`` when no recipe's ``%filter`` defines GROUP: its files
    would be written with the others, which is what the option was given to prevent."""
    from ..lang.suggest import did_you_mean

    wanted = sorted(set(groups))
    if not wanted:
        return
    known: list[str] = []
    for program in programs:
        for label in getattr(program, "filters", ()):
            if label.group not in known:
                known.append(label.group)
    unknown = [g for g in wanted if g not in known]
    if not unknown:
        return
    if not known:
        raise Refusal(f"--quarantine {', '.join(repr(g) for g in unknown)}: the recipes have no %filter section, so no file could be held back")
    group = unknown[0]
    hint = did_you_mean(group, known)
    more = f" (nor {', '.join(repr(g) for g in unknown[1:])})" if len(unknown) > 1 else ""
    raise Refusal(
        f"--quarantine '{group}'{more}: no recipe has a %filter group of that name, so no file would be held back; "
        + (hint + " " if hint else "")
        + f"(the groups are: {', '.join(known)})"
    )


# =========================================================================== inputs and ids


def check_found(total: int, inputs: Sequence[str]) -> None:
    """Refuse a run with no input file at all (an empty or mistyped folder)."""
    if total:
        return
    where = ", ".join(f"'{i}'" for i in inputs) if inputs else "the demo data"
    raise Refusal(f"no input files found in {where}: nothing to de-identify (is the path right? names starting with '.' are skipped)")


def check_ids(variables: Sequence[str], *, ids_path: str | None, total: int, missing: int, strict: bool = False) -> str:
    """What the run does about files without an entry in the ids file.

    The recipes' ``var:`` lines (``variables``) take their values from each file's
    entry; a file without one would be written with those elements unchanged.
    Refuses the run when the recipes need variables and no ids file was given, or
    when no input has an entry (the ids are for other files: moved data, another
    folder), or, with ``strict``, when any input lacks one. Otherwise returns a
    note for the files without an entry ("" when there is none): with variables
    needed, those files fail and are not written (the batch refuses them).
    """
    if variables and ids_path is None:
        raise Refusal(
            f"the recipe uses {_names(variables)}, whose values come from an ids file, and no --ids was given: "
            "every file would keep the elements those lines change (write one with `deidc identifiers`)"
        )
    if ids_path is None or not missing:
        return ""
    how = "by absolute path, path as given, path relative to --input, or SOPInstanceUID"
    if variables and missing == total:
        raise Refusal(
            f"none of the {total} input files has an entry in the ids file '{ids_path}' (matched {how}): "
            f"the recipe's {_names(variables)} would have no value and those elements would stay as they are"
        )
    if variables and strict:
        raise Refusal(
            f"{missing} of {total} input files have no entry in the ids file '{ids_path}' (matched {how}); the recipe's {_names(variables)} need one (--strict)"
        )
    if variables:
        return (
            f"{missing} of {total} files have no entry in the ids file '{ids_path}': the recipe's "
            f"{_names(variables)} need one, so they fail and are not written"
        )
    return f"{missing} of {total} files have no entry in the ids file '{ids_path}'"


# =========================================================================== what a file is


#: A recipe's first statement: ``FORMAT dicom`` or a section header (``%header``).
_RECIPE_START = re.compile(r"(?:FORMAT\s+\S+|%[A-Za-z]+)\b", re.IGNORECASE)


def _head(path: str, size: int) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(size)
    except OSError:
        return b""


def looks_like_dicom(path: str) -> bool:
    """A DICOM Part 10 file: ``DICM`` after the 128-byte preamble."""
    return _head(path, 132)[128:132] == b"DICM"


def looks_like_recipe(path: str) -> bool:
    """UTF-8 text whose first line that is not blank or a comment is ``FORMAT ...`` or a
    ``%section`` header (deid recipes start so)."""
    data: Any = _head(path, 1 << 16)
    if not data or b"\0" in data or not os.path.isfile(path):
        return False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(data) - 4:  # not only a character cut at the end of the sample
            return False
        text = data[: err.start].decode("utf-8")
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        return _RECIPE_START.match(line) is not None
    return False
