"""HIPAA Safe Harbor's eighteen kinds of identifiers (45 CFR 164.514(b)(2)(i)(A)-(R)),
mapped to the rows of PS3.15 Table E.1-1 that hold them and to the shapes of free text
the ``safe-harbor`` option removes (``deid_func:safeharbor``): the second half of
``deidc check --profile safe-harbor`` (the first is :mod:`.coverage`, row by row, with the
safe-harbor column). docs/safe-harbor.md says the same for users.

A category is ``covered`` when every row it maps to is handled (ok or stricter) and, if it
names shapes of free text, a recipe line runs ``deid_func:safeharbor``; ``partly`` when the
rows are but the free text is not cleaned, or the category is partly outside what a
recipe can reach (faces in pixel data, keyed pseudonyms); ``gap`` when a row is not handled or is
contradicted; ``outside`` when no recipe can cover it (pixels, sound, vehicles): the user's
responsibility, as is the "actual knowledge" of 164.514(b)(2)(ii). Only ``gap`` fails
``--strict``.
"""

from __future__ import annotations

import re
from typing import Iterable

import attrs

from ..lang import nodes
from .coverage import Handling, Report
from .profile import Row, rows

__all__ = ["Category", "CATEGORIES", "Finding", "categories", "applies_patterns", "render_text", "to_json", "STATUSES", "failed"]

STATUSES = ("gap", "partly", "outside", "covered")


@attrs.frozen
class Category:
    """One of the eighteen: its letter in 164.514(b)(2)(i), its name, where DICOM holds it."""

    letter: str
    name: str
    keywords: tuple[str, ...] = ()  # rows of Table E.1-1 by keyword
    pattern: str = ""  # rows by a regular expression on their keyword
    vrs: tuple[str, ...] = ()  # rows by VR
    codes: tuple[str, ...] = ()  # rows by their basic profile code (U: UIDs)
    text: tuple[str, ...] = ()  # the shapes deid_func:safeharbor removes from free text
    outside: str = ""  # what no recipe covers
    partial: bool = False  # what no recipe covers is part of the category: at best "partly"

    def rows(self) -> list[Row]:
        rx = re.compile(self.pattern) if self.pattern else None
        return [
            r
            for r in rows()
            if r.tag is not None
            and (r.keyword in self.keywords or (rx is not None and rx.search(r.keyword)) or (self.vrs and r.vr in self.vrs) or r.code in self.codes)
        ]


_IDS = ("PatientID", "OtherPatientIDs", "OtherPatientIDsSequence", "IssuerOfPatientID", "MedicalRecordLocator")
CATEGORIES: tuple[Category, ...] = (
    Category("A", "Names", vrs=("PN",), text=("a Last^First name", "this file's names")),
    Category(
        "B",
        "Geographic subdivisions smaller than a State (street address, city, county, precinct, ZIP code)",
        pattern=r"Address|Residence|Location$|GeographicLocation",
        text=("a ZIP code", "this file's address and its words"),
        outside="3-digit ZIP prefixes are not kept, where Safe Harbor would allow some",
    ),
    Category(
        "C",
        "All elements of dates (except year) related to the individual; ages over 89",
        keywords=("PatientAge",),
        vrs=("DA", "DT", "TM"),
        text=("a date",),
    ),
    Category("D", "Telephone numbers", pattern=r"Telephone|Telecom|PhoneNumber", text=("a telephone number",)),
    Category("E", "Fax numbers", pattern=r"Telecom", text=("a telephone number",)),
    Category("F", "Electronic mail addresses", pattern=r"Telecom", text=("an e-mail address",)),
    Category("G", "Social security numbers", keywords=_IDS, text=("a social security number",)),
    Category("H", "Medical record numbers", keywords=_IDS, text=("a long digit string", "this file's IDs")),
    Category(
        "I", "Health plan beneficiary numbers", keywords=("PatientInsurancePlanCodeSequence", "InsurancePlanIdentification"), text=("a long digit string",)
    ),
    Category(
        "J",
        "Account numbers",
        keywords=("AccessionNumber", "AdmissionID", "ServiceEpisodeID", "PlacerOrderNumberImagingServiceRequest", "FillerOrderNumberImagingServiceRequest"),
        text=("a long digit string", "this file's accession number"),
    ),
    Category("K", "Certificate/license numbers", pattern=r"IdentificationSequence$|IdentificationCodeSequence$", text=("a long digit string",)),
    Category(
        "L",
        "Vehicle identifiers and serial numbers, including license plate numbers",
        outside="no DICOM attribute holds them; in free text they are not recognised",
    ),
    Category(
        "M",
        "Device identifiers and serial numbers",
        pattern=r"SerialNumber|^DeviceUID$|DeviceID$|DetectorID$|^GantryID$|^GeneratorID$|StationName|UniqueDeviceIdentifier|^DeviceLabel$",
        text=("a long digit string", "this file's station name and serial number"),
    ),
    Category("N", "Web Universal Resource Locators (URLs)", vrs=("UR",), text=("a web address",)),
    Category("O", "Internet Protocol (IP) address numbers", text=("an IP address",)),
    Category(
        "P",
        "Biometric identifiers, including finger and voice prints",
        outside="in pixel data (fingerprints, irises) and audio waveforms (voice): not examined",
        partial=True,
    ),
    Category(
        "Q",
        "Full face photographic images and any comparable images",
        keywords=("ReferencedPatientPhotoSequence",),
        outside="pixel data: photographs, and CT or MR volumes that render a face, are not defaced",
        partial=True,
    ),
    Category(
        "R",
        "Any other unique identifying number, characteristic, or code",
        keywords=("StudyID",),
        codes=("U",),
        text=("a long digit string",),
        outside="deidlang's keyed pseudonyms of UIDs and PatientID are derived from the originals: see docs/safe-harbor.md on 164.514(c)",
        partial=True,
    ),
)


@attrs.frozen
class Finding:
    """How the recipes cover one category."""

    category: Category
    status: str  # one of STATUSES
    rows: tuple[Handling, ...]  # the coverage of its rows
    note: str = ""

    def to_dict(self) -> dict:
        c = self.category
        return {
            "letter": c.letter,
            "name": c.name,
            "status": self.status,
            "rows": len(self.rows),
            "unhandled": [h.row.label for h in self.rows if h.status in ("gap", "contradicts")],
            "free_text": list(c.text),
            "outside": c.outside,
            "note": self.note,
        }


def applies_patterns(recipes: Iterable[tuple[str, nodes.Recipe]]) -> bool:
    """Whether a line of the recipes runs ``deid_func:safeharbor`` (free text cleaned)."""
    for _name, recipe in recipes:
        for line in recipe.header:
            if isinstance(line.value, nodes.DeidFunc) and line.value.name == "safeharbor":
                return True
    return False


def categories(report: Report, patterns: bool) -> list[Finding]:
    """Each category's coverage, from the row-by-row ``report`` (made with the safe-harbor
    option) and whether the recipes clean free text (:func:`applies_patterns`)."""
    by_tag = {h.row.tag: h for h in report.handlings if h.row.tag is not None}
    out = []
    for c in CATEGORIES:
        handled = tuple(by_tag[r.tag] for r in c.rows() if r.tag in by_tag)
        bad = [h for h in handled if h.status in ("gap", "contradicts")]
        if bad:
            status, note = "gap", f"{len(bad)} of its {len(handled)} rows are not handled or are contradicted"
        elif not handled and not c.text:
            status, note = "outside", c.outside
        elif c.text and not patterns:
            status, note = "partly", "its rows are handled; free text is not cleaned: no line runs deid_func:safeharbor"
        elif c.partial:
            status, note = "partly", c.outside
        else:
            status, note = "covered", c.outside
        out.append(Finding(c, status, handled, note))
    return out


def failed(findings: Iterable[Finding]) -> bool:
    """A category with a row not handled or contradicted (``--strict`` exits 1)."""
    return any(f.status == "gap" for f in findings)


def render_text(findings: list[Finding]) -> str:
    out = ["HIPAA Safe Harbor, 45 CFR 164.514(b)(2)(i): the eighteen kinds of identifiers"]
    for f in findings:
        c = f.category
        rows_note = f"{len(f.rows)} rows" if f.rows else "no rows"
        out.append(f"  ({c.letter}) {f.status:<8} {c.name} [{rows_note}]")
        if f.note:
            out.append(f"  {'':<13}({f.note})")
    counts = ", ".join(f"{sum(1 for f in findings if f.status == s)} {s}" for s in STATUSES)
    out.append(f"{len(findings)} categories: {counts}")
    out.append("(b)(2)(ii): no actual knowledge that the rest could identify someone: yours to have, not a recipe's")
    return "\n".join(out) + "\n"


def to_json(findings: list[Finding]) -> dict:
    return {
        "rule": "45 CFR 164.514(b)(2)",
        "summary": {s: sum(1 for f in findings if f.status == s) for s in STATUSES},
        "categories": [f.to_dict() for f in findings],
        "actual_knowledge": "the user's responsibility (164.514(b)(2)(ii))",
    }
