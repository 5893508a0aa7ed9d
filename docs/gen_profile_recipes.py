"""Regenerate the bundled Basic Profile recipe and the option recipes from
deidlang/privacy/profile.py (Table E.1-1 as data).

    python docs/gen_profile_recipes.py          # rewrite the recipes
    python docs/gen_profile_recipes.py --check  # exit 1 if they are out of date

deidlang/data/default.dicom keeps everything from its pixel banner on (the
%filter sections are written by hand).
"""

from __future__ import annotations

import sys
from pathlib import Path

from deidlang.privacy import profile

DATA = Path(profile.__file__).resolve().parents[1] / "data"
PIXEL_BANNER = "# " + "=" * 73
SAFE_PRIVATE = (
    # PS3.15 Table E.3.10-1 entries (creator, group, element low byte, what it holds)
    ("GEMS_ACQU_01", 0x0019, 0x23, "Table Speed"),
    ("GEMS_ACQU_01", 0x0019, 0x24, "Mid Scan Time"),
    ("GEMS_ACQU_01", 0x0019, 0x27, "Rotation Speed"),
    ("GEMS_ACQU_01", 0x0019, 0x9E, "Internal Pulse Sequence Name"),
    ("GEMS_PARM_01", 0x0043, 0x27, "Scan Pitch Ratio"),
    ("GEMS_PARM_01", 0x0043, 0x6F, "Scanner Table Entry"),
    ("GEMS_SERS_01", 0x0025, 0x07, "Images in Series"),
    ("GEMS_HELIOS_01", 0x0045, 0x01, "Number of Macro Rows in Detector"),
    ("GEMS_HELIOS_01", 0x0045, 0x02, "Macro Width at ISO Center"),
    ("Philips MR Imaging DD 001", 0x2005, 0x0D, "Scale Intercept"),
    ("Philips MR Imaging DD 001", 0x2005, 0x0E, "Scale Slope"),
    ("PHILIPS MR IMAGING DD 001", 0x2005, 0x0D, "Scale Intercept"),
    ("PHILIPS MR IMAGING DD 001", 0x2005, 0x0E, "Scale Slope"),
    ("Philips PET Private Group", 0x7053, 0x00, "SUV Factor"),
    ("Philips PET Private Group", 0x7053, 0x09, "Activity Concentration Scale Factor"),
)
_PATTERNS = {
    "50xx,xxxx": "contains:^50[0-9A-F][02468ACE][0-9A-F]{4}$",
    # An overlay plane without its OverlayData is invalid (Type 1 in the Overlay Plane
    # module): the rows of OverlayData and OverlayComments remove the whole group.
    "60xx,3000": "contains:^60[0-9A-F][02468ACE][0-9A-F]{4}$",
    "60xx,4000": "contains:^60[0-9A-F][02468ACE][0-9A-F]{4}$",
    "private": "select:private",
}
_TEXT_VRS = {"LO", "SH", "ST", "LT", "UT", "UC", "CS", "AE", "PN", "SQ"}
#: the built-in that cleans what an option keeps (scrub cannot: it keeps the rest of the text)
_CLEANERS = {"clean-structured-content": "cleancontent", "clean-graphics": "cleangraphics"}
_CLEANER_NOTES = {
    "clean-structured-content": [
        "# deid_func:cleancontent keeps each content tree's structure, codes and numeric",
        "# measurements, and replaces what identifies: TEXT values and other free text,",
        "# PNAME, DATE, TIME and DATETIME values by dummies, UIDREF values and instance UIDs",
        "# by keyed hashes (the same as the profile's hashuid gives elsewhere in the file),",
        "# observer identities (they are content items); private elements inside go.",
        "# See docs/profile.md.",
    ],
    "clean-graphics": [
        "# deid_func:cleangraphics keeps the graphics and cleans them: an overlay plane whose",
        "# bitmap holds text-like marks is blanked (its group stays whole and valid), one",
        "# that cannot be examined (bits in the pixel data) goes with its whole group (as the",
        "# profile removes every overlay); the other planes stay. Curves stay. The text of",
        "# graphic annotations, overlays and curves loses this file's identifying values",
        "# and what looks like an identifier (dates, long numbers, Last^First names,",
        "# telephone numbers, ZIP codes, e-mail and web addresses); names and dates inside",
        "# become dummies, UIDs keyed hashes.",
        "# See docs/profile.md.",
    ],
}


def field(row: profile.Row) -> str:
    if row.tag is None:
        return _PATTERNS[row.pattern]
    return row.keyword or f"({row.pattern})"


def _key(row: profile.Row) -> str:
    return (row.keyword or row.name).lower()


def _method(meaning: str, code: str | None, text: str | None = None) -> list[str]:
    out = [f'ADD DeidentificationMethod deid_func:append value="{text or meaning}"']
    if code:  # HIPAA Safe Harbor has no CID 7050 code
        out.append(f'ADD DeidentificationMethodCodeSequence deid_func:code value={code} scheme=DCM meaning="{meaning}"')
    return out


#: free text, whatever element holds it: Safe Harbor's patterns are removed from it
_LONG_TEXT_VRS = ("LT", "ST", "UT")


def safe_harbor_text(o: profile.Option) -> str:
    """The safe-harbor recipe: not a column of Table E.1-1 but HIPAA's Safe Harbor method."""
    kept = sorted((r for r in profile.rows() if r.option_code(o.name) == "C"), key=_key)
    described = sorted(
        (r for r in profile.rows() if r.option_code("clean-descriptors") == "C" and r.vr in _TEXT_VRS - {"SQ", "CS", "PN", "AE", *_LONG_TEXT_VRS}),
        key=_key,
    )
    out = [
        "FORMAT dicom",
        "",
        f"# {o.meaning} as an option recipe: what the Safe Harbor",
        "# method allows beyond the basic profile, with its limits; generated from",
        "# deidlang/privacy/profile.py by docs/gen_profile_recipes.py. It has no CID 7050",
        "# code. docs/safe-harbor.md says what 164.514(b)(2) asks, what this covers and what",
        '# it does not ("actual knowledge" is yours).',
        "#",
        "# Apply it BEFORE the basic profile recipe (deidc run --option safe-harbor; it is",
        "# applied before every other option, and refused with those that keep dates, UIDs",
        "# or device identifiers).",
        "",
        "%header",
        "# Ages over 89 become 090Y (90 or older); dates keep their year (DA: YYYY0101, DT:",
        "# YYYY); a date of birth goes when the patient is 90 or older (by PatientAge, or",
        "# today). Times are not kept: the profile removes, empties or replaces them.",
        *[f"KEEP {field(r)} deid_func:safeharbor" for r in kept],
        "ADD LongitudinalTemporalInformationModified MODIFIED",
        "KEEP LongitudinalTemporalInformationModified",
        "",
        "# Free text: telephone and fax numbers, ZIP codes, e-mail and web addresses, IP",
        "# addresses, social security numbers, dates, long numbers, Last^First names and",
        "# this file's identifying values are removed from descriptions (which the profile",
        "# removes unless an option keeps them) and from every long text (LT, ST, UT).",
        *[f"REPLACE {field(r)} deid_func:safeharbor" for r in described],
        *[f"REPLACE select:VR:{vr} deid_func:safeharbor" for vr in _LONG_TEXT_VRS],
        "",
        *_method(o.meaning, o.code),
        "",
    ]
    return "\n".join(out)


def basic_header() -> str:
    groups: dict[str, list[profile.Row]] = {}
    for row in profile.rows():
        groups.setdefault(profile.resolution(row), []).append(row)
    out = [
        "FORMAT dicom",
        "",
        "# deidlang's default recipe: the Basic Application Level Confidentiality",
        f"# Profile of DICOM PS3.15 Annex E, Table E.1-1 ({profile.EDITION} edition), as a",
        "# deid recipe. It is generated from deidlang/privacy/profile.py by",
        "# docs/gen_profile_recipes.py; `deidc check --profile basic` shows, row by",
        "# row, which line handles each attribute of the table.",
        "#",
        "# * U (UIDs): replaced by keyed hashes (deid_func:hashuid): the same UID and",
        "#   key give the same new UID in every file, run and machine, so references",
        "#   between objects survive; nobody without the key can compute the mapping.",
        "# * D: a dummy value valid for the element's VR (deid_func:dummy; inside a",
        "#   sequence, every text, name and date); PatientID gets a keyed pseudonym.",
        "# * Z: emptied. X: removed. Combined codes are resolved toward a dummy value",
        "#   where the attribute is Type 1 in common IODs, toward an empty value where",
        "#   it is Type 2, toward removal where it is Type 3 everywhere.",
        "# * every private element is removed (select:private).",
        "# * the result says what was done: PatientIdentityRemoved, DeidentificationMethod",
        "#   and DeidentificationMethodCodeSequence (CID 7050).",
        "#",
        "# The options (retain dates, UIDs, device or institution identity, patient",
        "# characteristics, safe private attributes, clean descriptors) are recipes",
        "# in deidlang/data/options/, applied BEFORE this one (deidc run --option NAME):",
        "# their KEEP lines protect what they retain from the lines below.",
        "#",
        "# Keys: see docs/profile.md (--key-file, DEIDLANG_KEY, or the user key file).",
        "",
        "%labels",
        "ADD ContentLabel BASIC_PROFILE",
        f"ADD ContentDescription DICOM PS3.15 {profile.EDITION} Table E.1-1 Basic Application Confidentiality Profile",
        "",
        "%header",
    ]
    sections = [
        ("U", "U: UIDs, replaced consistently by keyed hashes", "REPLACE {} deid_func:hashuid"),
        ("P", "Z/D: the patient ID becomes a keyed pseudonym (one patient's files stay together)", "REPLACE {} deid_func:hashid"),
        ("D", "D (and X/D, Z/D, X/Z/D where Type 1): dummy values valid for the VR", "REPLACE {} deid_func:dummy"),
        ("Z", "Z (and X/Z, Z/D, X/Z/D where Type 2): emptied", "BLANK {}"),
        ("X", "X (and X/D, X/Z/D where Type 3 everywhere): removed", "REMOVE {}"),
    ]
    for key, title, template in sections:
        rows = sorted(groups.get(key, ()), key=lambda r: (r.tag is None, _key(r)))
        out += ["", f"# --- {title}"]
        out += dict.fromkeys(template.format(field(r)) for r in rows if r.pattern != "private")  # one line per field
    kept = sorted(groups.get("-", ()), key=_key)
    out += ["", "# --- X/Z/U*: kept; the UIDs inside are replaced by the U lines above"]
    out += [f"#     {r.keyword}" for r in kept]
    out += [
        "",
        "# --- private attributes: all removed (the Retain Safe Private option keeps a list)",
        "REMOVE select:private",
        "",
        "# --- what was done",
        "ADD PatientIdentityRemoved YES",
        "REPLACE LongitudinalTemporalInformationModified REMOVED",
        *_method(profile.PROFILE[1], profile.PROFILE[0], f"{profile.PROFILE[1]} (PS3.15 {profile.EDITION})"),
        "",
    ]
    return "\n".join(out)


def option_text(o: profile.Option) -> str:
    rows = [r for r in profile.rows() if r.option_code(o.name)]
    out = [
        "FORMAT dicom",
        "",
        f"# The {o.meaning} of DICOM PS3.15 Annex E (CID 7050 code {o.code}),",
        "# generated from deidlang/privacy/profile.py by docs/gen_profile_recipes.py.",
        "#",
        "# Apply it BEFORE the basic profile recipe:",
        f"#   deidc run --option {o.name} ...          (or --recipe THIS --recipe default.dicom)",
        "# Its KEEP lines protect the elements it retains from every later recipe;",
        "# KEEP with a deid_func value first sets the element, then protects it.",
        "",
        "%header",
    ]
    lines: list[str] = []
    skipped: list[str] = []
    for r in sorted(rows, key=_key):
        code = r.option_code(o.name)
        f = field(r)
        vr = r.vr
        if o.name == "retain-safe-private":
            continue
        if o.name in _CLEANERS:
            lines.append(f"KEEP {f} deid_func:{_CLEANERS[o.name]}")
        elif code == "K":
            lines.append(f"KEEP {f}")
        elif o.name == "retain-modified-dates":
            if vr in ("DA", "DT", "TM"):
                lines.append(f"KEEP {f} deid_func:dateshift max_days=365")  # TM: the time of day stays
            elif vr in _TEXT_VRS:
                lines.append(f"KEEP {f} deid_func:scrub")
            else:
                skipped.append(f"{r.keyword} ({vr}: a binary timestamp cannot be shifted; the profile removes it)")
        elif vr == "SQ" and not r.keyword.endswith("CodeSequence"):
            # KEEP protects everything inside: the UIDs, IDs and dates the profile replaces
            # there would be kept as they are (deidc verify found them)
            skipped.append(f"{r.keyword} (SQ: keeping it would keep the UIDs, IDs and dates inside it; the profile handles it)")
        elif vr in _TEXT_VRS:
            lines.append(f"KEEP {f} deid_func:scrub")
        else:
            skipped.append(f"{r.keyword} ({vr}: binary, cannot be cleaned; the profile removes it)")
    if o.name == "retain-safe-private":
        out += [
            "# Private attributes known to be safe (PS3.15 Table E.3.10-1 entries). The",
            "# profile's `REMOVE select:private` removes every other private element (and",
            "# keeps the creator of a block that still holds a kept element). Review the",
            "# list for your devices. deidc run needs --keep-private with this option.",
        ]
        for creator, group, low, _what in SAFE_PRIVATE:
            lines.append(f'KEEP ({group:04X},"{creator}",{low:02X})')
    if o.name == "retain-modified-dates":
        out += [
            "# Dates and date-times are shifted by a per-patient number of days (a keyed",
            "# hash of PatientID picks it in [-365, 365]); times of day stay as they are.",
        ]
        lines += ["ADD LongitudinalTemporalInformationModified MODIFIED", "KEEP LongitudinalTemporalInformationModified"]
    if o.name == "retain-full-dates":
        lines += ["ADD LongitudinalTemporalInformationModified UNMODIFIED", "KEEP LongitudinalTemporalInformationModified"]
    if o.name in ("clean-descriptors", "retain-device-identity", "retain-patient-characteristics"):
        out += [
            "# C (clean): deid_func:scrub removes from the text every identifying value",
            "# of the same file (the patient's names, IDs, birth date, the institution,",
            "# the physicians and operators...). It cannot know names the file does not",
            "# hold: review free text before you share it.",
        ]
    out += _CLEANER_NOTES.get(o.name, [])
    if skipped:
        out += ["#", "# Not retained here:"] + [f"#   {s}" for s in skipped]
    out += ["", *dict.fromkeys(lines), "", *_method(o.meaning, o.code), ""]
    return "\n".join(out)


def outputs() -> dict[Path, str]:
    default = DATA / "default.dicom"
    current = default.read_text(encoding="utf-8")
    i = current.find(PIXEL_BANNER)
    pixels = current[i:] if i >= 0 else ""
    files = {default: basic_header() + ("\n" + pixels if pixels else "")}
    for o in profile.OPTIONS:
        if o.recipe:
            files[DATA / "options" / o.recipe] = safe_harbor_text(o) if o.name == "safe-harbor" else option_text(o)
    return files


def main(argv: list[str]) -> int:
    files = outputs()
    if "--check" in argv:
        stale = [str(p) for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
        for p in stale:
            print(f"out of date: {p}")
        return 1 if stale else 0
    for p, text in files.items():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
