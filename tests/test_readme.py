"""The README and docs/cli.md show only commands and options that ``deidc`` has, and the
README's two set-up commands are there, word for word.

A command is ``deidc WORD`` in a fenced code block (a line, or a part of a line between
``&&``, ``|`` or ``;``, with the lines of a synopsis that continue it) or in inline code;
its options are the ``--words`` that follow it there. Each must be listed by
``deidc WORD --help``. An option quoted on its own in the prose (`` `--allow CODE` ``)
must be an option of some command.
"""

from __future__ import annotations

import contextlib
import io
import re
from functools import lru_cache
from pathlib import Path

import pytest

from deidlang import cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "docs" / "cli.md"]

#: The README's set-up commands: install and run the main job; install and run the tests.
SETUP_MAIN = "python -m venv .venv && .venv/bin/pip install -q . && .venv/bin/deidc check examples/*.dicom && .venv/bin/deidc run --output deidlang-output"
SETUP_TESTS = 'python -m venv .venv && .venv/bin/pip install -q -e ".[test]" && .venv/bin/python -m pytest -q'

_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
_INLINE = re.compile(r"`([^`\n]+)`")
_COMMAND = re.compile(r"^(?:\$\s+)?(?:\S*/)?deidc\s+([a-z][a-z-]*)(?=\s|$)(.*)$")
_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
_HELP_OPTION = re.compile(r"^  (?:-\w, )?(--[a-z][a-z0-9-]*)", re.M)


@lru_cache(maxsize=None)
def help_text(command: str | None) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = cli.main([command, "--help"] if command else ["--help"])
    assert code == 0, f"deidc {command} --help exited {code}"
    return out.getvalue()


def commands() -> set[str]:
    """The commands ``deidc --help`` lists."""
    listing = help_text(None).split("commands:", 1)[1]
    return set(re.findall(r"^    ([a-z][a-z-]*)", listing, re.M))


def options(command: str) -> set[str]:
    """The options ``deidc COMMAND --help`` lists (each at the start of its own line)."""
    return set(_HELP_OPTION.findall(help_text(command)))


def shown(text: str) -> list[tuple[str, list[str], str]]:
    """``(command, options, where)`` for every deidc command the text shows."""
    found: list[tuple[str, list[str], str]] = []
    for block in _FENCE.findall(text):
        current: list | None = None
        for line in block.splitlines():
            code = line.split(" #", 1)[0]
            if current is not None and line[:1].isspace() and code.strip()[:1] in "[(-":
                current[1].extend(_OPTION.findall(code))  # a synopsis continued
                continue
            current = None
            for part in re.split(r"&&|\|\||[|;]", code):
                m = _COMMAND.match(part.strip())
                if m:
                    current = [m.group(1), _OPTION.findall(m.group(2)), line.strip()]
                    found.append(current)  # type: ignore[arg-type]
    prose = _FENCE.sub("", text)
    for span in _INLINE.findall(prose):
        m = _COMMAND.match(span.strip())
        if m:
            found.append((m.group(1), _OPTION.findall(m.group(2)), span))
    return [(c, list(o), w) for c, o, w in found]


def quoted_options(text: str) -> set[str]:
    """Options quoted in inline code on their own (`` `--allow CODE` ``), outside code blocks."""
    prose = _FENCE.sub("", text)
    return {m for span in _INLINE.findall(prose) if span.startswith("--") for m in _OPTION.findall(span)}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_command_and_option_shown_exists(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    seen = shown(text)
    assert len(seen) >= 10, f"{doc.name}: only {len(seen)} deidc commands found: the parser of this test is broken"
    known = commands()
    problems = []
    for command, opts, where in seen:
        if command not in known:
            problems.append(f"unknown command 'deidc {command}' in: {where}")
            continue
        for opt in opts:
            if opt not in options(command):
                problems.append(f"'deidc {command}' has no option {opt} (in: {where})")
    assert not problems, f"{doc.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_option_quoted_in_prose_exists(doc: Path) -> None:
    every = set().union(*(options(c) for c in commands()))
    missing = sorted(quoted_options(doc.read_text(encoding="utf-8")) - every)
    assert not missing, f"{doc.name} quotes options no deidc command has: {missing}"


def test_cli_doc_covers_every_command() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    documented = {command for command, _, _ in shown(text)}
    assert commands() - documented == set(), f"docs/cli.md shows no synopsis for: {sorted(commands() - documented)}"


def test_the_set_up_commands_are_in_the_readme_verbatim() -> None:
    blocks = [b.strip() for b in _FENCE.findall((ROOT / "README.md").read_text(encoding="utf-8"))]
    assert SETUP_MAIN in blocks
    assert SETUP_TESTS in blocks
    assert sorted(ROOT.glob("examples/*.dicom")), "the main command checks examples/*.dicom: there must be some"


def test_the_checker_of_this_test_finds_what_is_wrong() -> None:
    text = (
        "```\ndeidc run --input x --no-such-option\ndeidc frobnicate\ndeidc serve --port 1\n      [--nope]\n```\nand `deidc check --strict`, `--allow CODE`.\n"
    )
    assert shown(text) == [
        ("run", ["--input", "--no-such-option"], "deidc run --input x --no-such-option"),
        ("frobnicate", [], "deidc frobnicate"),
        ("serve", ["--port", "--nope"], "deidc serve --port 1"),
        ("check", ["--strict"], "deidc check --strict"),
    ]
    assert quoted_options(text) == {"--allow"}
    assert "--no-such-option" not in options("run") and "--input" in options("run")


# --------------------------------------------------------------------------- what the docs say of exit statuses


def test_inspect_help_and_pixels_doc_say_an_unreadable_file_makes_the_status_1(tmp_path) -> None:
    assert "exit status is then 1" in " ".join(help_text("inspect").split())
    assert "1 when a file is unreadable" in " ".join((ROOT / "docs" / "pixels.md").read_text(encoding="utf-8").split())
    import shutil

    shutil.copy(cli.DEMO_DIR / "patient-001" / "ct-chest" / "ct-001.dcm", tmp_path / "ct.dcm")
    (tmp_path / "notes.dcm").write_bytes(b"not DICOM at all")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert cli.main(["inspect", "--input", str(tmp_path)]) == 1
        (tmp_path / "notes.dcm").unlink()
        assert cli.main(["inspect", "--input", str(tmp_path)]) == 0


# --------------------------------------------------------------------------- links between the documents

_LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file."""
    out = set()
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))
    for heading in re.findall(r"^#+\s+(.*?)\s*$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        out.add(slug)
    return out


def test_every_relative_link_in_the_docs_leads_somewhere() -> None:
    documents = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for doc in documents:
        for target in _LINK.findall(_FENCE.sub("", doc.read_text(encoding="utf-8"))):
            if re.match(r"[a-z]+:", target):
                continue  # a URL
            file, _, anchor = target.partition("#")
            path = (doc.parent / file).resolve() if file else doc
            if not path.exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and path.suffix == ".md" and anchor not in anchors(path):
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)
