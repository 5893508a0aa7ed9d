"""The review-board document behind ``deidc doc``: what a set of recipes does,
attribute by attribute, for a data-protection officer or an ethics board.

Contents: the recipes (with SHA-256, so the document names exactly what was
reviewed), the profile options, the PS3.15 Basic Profile coverage summary,
then every attribute of Table E.1-1 grouped as PS3.15 groups them (by the
option that concerns it: patient characteristics, device identity,
institution identity, UIDs, dates, descriptors, structured content,
graphics, private attributes; the rest under the Basic Profile alone) with
what the recipes do to it and which line does it; then every header line
with what it selects, the %values/%fields groups, the %filter labels and the
checker's findings.

The output is stable for version control: no date, no absolute path that
was not given, rows in table order, the same bytes for the same input.
"""

from __future__ import annotations

import hashlib
import html
from typing import Iterable, Sequence

import attrs

from ..lang import nodes, parser
from ..lang.diagnostics import Diagnostic
from ..lang.source import Source
from ..privacy import coverage, profile
from ..version import __version__
from .findings import findings

__all__ = ["Review", "RecipeInfo", "build", "render_markdown", "render_html", "FORMATS"]

FORMATS = ("md", "html")

#: What a recipe's effect on an attribute is, in words.
EFFECTS = {
    "X": "removed",
    "Z": "emptied",
    "D": "replaced by a value that is not the original",
    "U": "replaced by a consistent new UID",
    "C": "kept, modified (shifted or cleaned)",
    "K": "kept",
    "": "not handled: stays as it is",
}
STATUS_WORDS = {"ok": "as the profile asks", "gap": "GAP", "contradicts": "CONTRADICTS", "differs": "differs", "stricter": "stricter"}
_BASIC_ONLY = "Attributes no option retains (Basic Profile only)"


@attrs.frozen
class RecipeInfo:
    path: str
    sha256: str
    lines: int
    recipe: nodes.Recipe = attrs.field(eq=False, repr=False)
    findings: tuple[Diagnostic, ...] = ()
    source: tuple[str, ...] = attrs.field(default=(), eq=False, repr=False)


@attrs.frozen
class Review:
    recipes: tuple[RecipeInfo, ...]
    options: tuple[str, ...]
    report: coverage.Report
    groups: tuple[tuple[str, tuple[coverage.Handling, ...]], ...]


class ReviewError(Exception):
    """The recipes have errors: no review document for them. ``diagnostics`` holds them."""

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        super().__init__(f"{len(diagnostics)} error(s)")
        self.diagnostics = tuple(diagnostics)


def build(texts: Sequence[tuple[str, str]], options: Iterable[str] = (), *, deid_compat: bool = False) -> Review:
    """The review of recipes (``(path, text)``, applied in this order) with profile options.
    Raises :class:`ReviewError` when a recipe has errors."""
    infos = []
    errors: list[Diagnostic] = []
    for path, text in texts:
        result = parser.parse(Source(text, path))
        found = findings(result, deid_compat=deid_compat)
        errors += [d for d in found if d.is_error]
        infos.append(
            RecipeInfo(path, hashlib.sha256(text.encode("utf-8")).hexdigest(), len(result.source.lines), result.recipe, tuple(found), result.source.lines)
        )
    if errors:
        raise ReviewError(errors)
    opts = tuple(dict.fromkeys(options))
    report = coverage.coverage([(i.path, i.recipe) for i in infos], opts)
    return Review(tuple(infos), opts, report, _grouped(report))


def _grouped(report: coverage.Report) -> tuple[tuple[str, tuple[coverage.Handling, ...]], ...]:
    by_option: dict[str, list[coverage.Handling]] = {o.name: [] for o in profile.OPTIONS}
    rest: list[coverage.Handling] = []
    for h in report.handlings:
        names = [n for n, _ in h.row.options if n in by_option]
        (by_option[names[0]] if names else rest).append(h)
    out = [(f"{o.meaning} ({o.name})", tuple(by_option[o.name])) for o in profile.OPTIONS if by_option[o.name]]
    out.append((_BASIC_ONLY, tuple(rest)))
    return tuple(out)


# --------------------------------------------------------------------------- pieces shared by both formats


def _attribute(h: coverage.Handling) -> tuple[str, str]:
    r = h.row
    tag = f"({r.pattern.upper()})" if r.pattern != "private" else "private"
    return tag, r.keyword or r.name


def _line(h: coverage.Handling) -> str:
    if h.line is None:
        return ""
    file, line, _col, text = h.line
    return f"{file}:{line} {text}"


def _summary(review: Review) -> list[tuple[str, int]]:
    return [(s, review.report.count(s)) for s in coverage.STATUSES]


def _selects(line: nodes.ActionLine, recipe: nodes.Recipe) -> str:
    from .dictionary import names, selected

    found = selected(line.field, recipe=recipe)
    if found is None:
        return "depends on the data"
    if not found:
        return "nothing in the DICOM dictionary"
    return f"{len(found)}: {names(found, limit=6)}"


def _header_rows(review: Review) -> list[tuple[str, int, str, str]]:
    out = []
    for info in review.recipes:
        for line in info.recipe.header:
            span = line.span
            text = info.source[span.line - 1][span.column - 1 : span.end_column - 1]
            out.append((info.path, line.span.line, text, _selects(line, info.recipe)))
    return out


def _group_rows(review: Review) -> list[tuple[str, str, str, str]]:
    out = []
    for info in review.recipes:
        for kind in ("values", "fields"):
            for name, lines in info.recipe.groups(kind).items():
                members = "; ".join(
                    f"{g.action} {g.field.text}" + (" " + ";".join(f"{o.name}={o.value}" for o in g.options) if g.options else "") for g in lines
                )
                out.append((info.path, f"%{kind}", name, members))
    return out


def _criteria_text(label: nodes.Label) -> str:
    parts = []
    for cl in label.criteria:
        words = []
        if cl.operator:
            words.append("and" if cl.operator == "and" else "or")
        for i, c in enumerate(cl.criteria):
            if i:
                words.append(cl.operators[i - 1])
            words.append(f"{c.predicate} {c.field.text}" + (f" {c.value}" if c.value is not None else ""))
        parts.append(" ".join(words))
    return "; ".join(parts) or "(none)"


def _coords_text(label: nodes.Label) -> str:
    out = []
    for co in label.coordinates:
        spec = co.spec
        if isinstance(spec, nodes.Box):
            where = f"{spec.x0},{spec.y0},{spec.x1},{spec.y1}"
        elif isinstance(spec, nodes.FromField):
            where = f"from:{spec.field.text}"
        else:
            where = "all"
        out.append(("keep " if co.keep else "blank ") + where)
    return "; ".join(out) or "(none)"


def _filter_rows(review: Review) -> list[tuple[str, str, int, str, str, str]]:
    out = []
    for info in review.recipes:
        for group, labels in info.recipe.filters().items():
            for label in labels:
                out.append((info.path, group, label.span.line, label.name, _criteria_text(label), _coords_text(label)))
    return out


# --------------------------------------------------------------------------- Markdown


def _md(text: object) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_code(text: str) -> str:
    return f"`{text.replace('`', '')}`" if text else ""


def render_markdown(review: Review) -> str:
    out = ["# De-identification review", ""]
    out.append(
        f"Produced by deidlang {__version__} (`deidc doc`) against DICOM PS3.15 {profile.EDITION}, Annex E, Table E.1-1 (Basic Application Level Confidentiality Profile)."
    )
    out += ["", "## Recipes", "", "Applied in this order; the KEEP lines of each protect elements from the later ones.", ""]
    out += ["| # | recipe | lines | SHA-256 | findings |", "|---|---|---|---|---|"]
    for i, info in enumerate(review.recipes, 1):
        warnings = sum(1 for d in info.findings if d.severity == "warning")
        out.append(f"| {i} | {_md_code(info.path)} | {info.lines} | `{info.sha256}` | {warnings} warning{'s' if warnings != 1 else ''} |")
    out += ["", "## Profile options", ""]
    if review.options:
        out += [f"- {profile.option(o).meaning} ({o}, {profile.option(o).cited})" for o in review.options]
    else:
        out.append("None: the Basic Profile alone.")
    out += ["", "## Coverage summary", "", "| status | rows | meaning |", "|---|---|---|"]
    meaning = {
        "contradicts": "a line keeps or breaks what the profile requires",
        "gap": "no line handles the attribute: it stays as it is",
        "differs": "no original information stays, but not by the profile's action",
        "stricter": "the recipes remove what a selected option allows to keep",
        "ok": "handled as the profile asks",
    }
    for status, n in _summary(review):
        out.append(f"| {status} | {n} | {meaning[status]} |")
    out.append(f"| all | {len(review.report.handlings)} | rows of Table E.1-1 |")
    out += [
        "",
        "## Attributes",
        "",
        "Grouped as PS3.15 groups them: by the profile option that concerns each attribute. Codes: D dummy value, Z empty or dummy, X remove, K keep, C clean, U new consistent UID.",
        "",
    ]
    for title, rows in review.groups:
        out += [f"### {title}", "", "| tag | attribute | profile | the recipes | line | status |", "|---|---|---|---|---|---|"]
        for h in rows:
            tag, name = _attribute(h)
            status = STATUS_WORDS.get(h.status, h.status) + (f": {h.note}" if h.note and h.status != "ok" else "")
            out.append(f"| {tag} | {_md(name)} | {h.required} | {EFFECTS.get(h.effect, h.effect)} | {_md_code(_line(h))} | {_md(status)} |")
        out.append("")
    out += ["## Every header line", "", "What each line selects in the DICOM dictionary (lines that select by value or by path depend on the data).", ""]
    out += ["| recipe | line | text | selects |", "|---|---|---|---|"]
    for file, line, text, selects in _header_rows(review):
        out.append(f"| {_md_code(file)} | {line} | {_md_code(text)} | {_md(selects)} |")
    groups = _group_rows(review)
    if groups:
        out += ["", "## Groups", "", "| recipe | kind | name | lines |", "|---|---|---|---|"]
        out += [f"| {_md_code(f)} | {k} | {_md(n)} | {_md(m)} |" for f, k, n, m in groups]
    filters = _filter_rows(review)
    if filters:
        out += ["", "## Pixel filters", "", "Images a LABEL flags may show burned-in text; its coordinates are the regions blanked (or kept).", ""]
        out += ["| recipe | group | line | label | criteria | coordinates |", "|---|---|---|---|---|---|"]
        out += [f"| {_md_code(f)} | {_md(g)} | {n} | {_md(lab)} | {_md(c)} | {_md(co)} |" for f, g, n, lab, c, co in filters]
    out += ["", "## Findings of `deidc check`", ""]
    findings = [d for info in review.recipes for d in info.findings]
    if findings:
        out += ["| recipe | line | code | message |", "|---|---|---|---|"]
        out += [f"| {_md_code(d.file)} | {d.line} | {d.code} | {_md(d.message)} |" for d in findings]
    else:
        out.append("None.")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- HTML


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.2em .5em;text-align:left;vertical-align:top}"
    "th{background:#eee}code{font-size:90%}.gap,.contradicts{background:#fde2e2}.differs,.stricter{background:#fff4d6}"
)


def _h(text: object) -> str:
    return html.escape(str(text), quote=True)


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], classes: Iterable[str] | None = None) -> list[str]:
    out = ["<table>", "<tr>" + "".join(f"<th>{_h(c)}</th>" for c in head) + "</tr>"]
    cls = list(classes) if classes is not None else None
    for i, row in enumerate(rows):
        attr = f' class="{cls[i]}"' if cls and cls[i] else ""
        out.append(f"<tr{attr}>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return out


def _code(text: str) -> str:
    return f"<code>{_h(text)}</code>" if text else ""


def render_html(review: Review) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        "<title>De-identification review</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
    ]
    out.append("<h1>De-identification review</h1>")
    out.append(
        f"<p>Produced by deidlang {_h(__version__)} (<code>deidc doc</code>) against DICOM PS3.15 {_h(profile.EDITION)}, Annex E, Table E.1-1 (Basic Application Level Confidentiality Profile).</p>"
    )
    out.append("<h2>Recipes</h2><p>Applied in this order; the KEEP lines of each protect elements from the later ones.</p>")
    rows = []
    for i, info in enumerate(review.recipes, 1):
        warnings = sum(1 for d in info.findings if d.severity == "warning")
        rows.append([str(i), _code(info.path), str(info.lines), _code(info.sha256), f"{warnings} warning{'s' if warnings != 1 else ''}"])
    out += _table(["#", "recipe", "lines", "SHA-256", "findings"], rows)
    out.append("<h2>Profile options</h2>")
    if review.options:
        out.append("<ul>" + "".join(f"<li>{_h(profile.option(o).meaning)} ({_h(o)}, {_h(profile.option(o).cited)})</li>" for o in review.options) + "</ul>")
    else:
        out.append("<p>None: the Basic Profile alone.</p>")
    out.append("<h2>Coverage summary</h2>")
    out += _table(["status", "rows"], [[_h(s), str(n)] for s, n in _summary(review)] + [["all", str(len(review.report.handlings))]])
    out.append(
        "<h2>Attributes</h2><p>Grouped as PS3.15 groups them: by the profile option that concerns each attribute. Codes: D dummy value, Z empty or dummy, X remove, K keep, C clean, U new consistent UID.</p>"
    )
    for title, handlings in review.groups:
        out.append(f"<h3>{_h(title)}</h3>")
        rows, classes = [], []
        for h in handlings:
            tag, name = _attribute(h)
            status = STATUS_WORDS.get(h.status, h.status) + (f": {h.note}" if h.note and h.status != "ok" else "")
            rows.append([_h(tag), _h(name), _h(h.required), _h(EFFECTS.get(h.effect, h.effect)), _code(_line(h)), _h(status)])
            classes.append(h.status if h.status != "ok" else "")
        out += _table(["tag", "attribute", "profile", "the recipes", "line", "status"], rows, classes)
    out.append("<h2>Every header line</h2>")
    out += _table(["recipe", "line", "text", "selects"], [[_code(f), str(n), _code(t), _h(s)] for f, n, t, s in _header_rows(review)])
    groups = _group_rows(review)
    if groups:
        out.append("<h2>Groups</h2>")
        out += _table(["recipe", "kind", "name", "lines"], [[_code(f), _h(k), _h(n), _h(m)] for f, k, n, m in groups])
    filters = _filter_rows(review)
    if filters:
        out.append("<h2>Pixel filters</h2>")
        out += _table(
            ["recipe", "group", "line", "label", "criteria", "coordinates"],
            [[_code(f), _h(g), str(n), _h(lab), _h(c), _h(co)] for f, g, n, lab, c, co in filters],
        )
    out.append("<h2>Findings of <code>deidc check</code></h2>")
    findings = [d for info in review.recipes for d in info.findings]
    if findings:
        out += _table(["recipe", "line", "code", "message"], [[_code(d.file), str(d.line), _h(d.code), _h(d.message)] for d in findings])
    else:
        out.append("<p>None.</p>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"
