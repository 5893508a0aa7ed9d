"""Shared inputs for the benchmarks (run: python -m pytest benchmarks --benchmark-enable)."""

from __future__ import annotations

import os
import random

import pytest


def deid_recipe_path(name: str = "deid.dicom") -> str:
    deid = pytest.importorskip("deid")
    return os.path.join(os.path.dirname(deid.__file__), "data", name)


@pytest.fixture(scope="session")
def deid_default_text() -> str:
    with open(deid_recipe_path(), encoding="utf-8") as fh:
        return fh.read()


KEYWORDS = [
    "PatientName",
    "PatientID",
    "StudyDate",
    "SeriesDate",
    "AccessionNumber",
    "InstitutionName",
    "ReferringPhysicianName",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "Modality",
    "Manufacturer",
    "ImageType",
    "SeriesDescription",
    "StudyDescription",
    "PatientBirthDate",
]


def generated_recipe(lines: int, seed: int = 7) -> str:
    """A realistic recipe of about ``lines`` lines: header actions, groups and filters."""
    rnd = random.Random(seed)
    out = ["FORMAT dicom", ""]
    n = 2
    while n < lines:
        kind = rnd.random()
        if kind < 0.5:
            out.append("%header")
            for _ in range(rnd.randint(20, 60)):
                verb = rnd.choice(["REMOVE", "BLANK", "REPLACE", "ADD", "KEEP", "JITTER"])
                kw = rnd.choice(KEYWORDS)
                if verb in ("REPLACE", "ADD"):
                    out.append(f"{verb} {kw} {rnd.choice(['var:id', 'func:make_uid', 'ANON', 'deid_func:pydicom_uuid'])}")
                elif verb == "JITTER":
                    out.append(f"JITTER {rnd.choice(['StudyDate', 'SeriesDate'])} {rnd.randint(-30, 30)}")
                elif rnd.random() < 0.2:
                    out.append(f"{verb} {rnd.choice(['startswith:Patient', 'endswith:Date', 'contains:Physician'])}")
                else:
                    out.append(f"{verb} {kw}")
        elif kind < 0.6:
            name = f"v{n}"
            out.append(f"%values {name}")
            out.append(f"SPLIT {rnd.choice(KEYWORDS)} by=^;minlength=3")
            out.append(f"FIELD {rnd.choice(KEYWORDS)}")
            out.append("%header")
            out.append(f"REMOVE values:{name}")
        else:
            out.append(f"%filter group{n}")
            for _ in range(rnd.randint(3, 10)):
                out.append(f"LABEL label {n} # note")
                out.append(f"  contains Modality {rnd.choice(['CT', 'MR', 'US|CR'])}")
                out.append("  + contains ImageType SECONDARY || contains SeriesDescription Dose Report")
                out.append(f"  coordinates 0,0,{rnd.randint(100, 512)},{rnd.randint(50, 200)}")
        out.append("")
        n = len(out)
    return "\n".join(out[:lines]) + "\n"
