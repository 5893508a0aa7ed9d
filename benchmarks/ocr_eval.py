"""OCR on the generated burned-in text corpus (tests/ocr_corpus.py): recall by text size
and contrast, text-free images changed, the proof, and the cost per image.

    python benchmarks/ocr_eval.py [COUNT] [--seed N]

Writes the corpus to a temporary folder, cleans every image with OCR only (no recipe
region: what OCR alone finds), and prints:

* read: a line OCR read over the drawn line; found: that, or a line the text detector
  found over it; identified: a line read over it matched an identifying value of the
  header (or a date, long number or Last^First shape); removed: at least 98% of the
  line's ink lies in the blanked boxes;
* text-free images whose pixels changed;
* files whose proof still found identifying text (the run quarantines them), and the
  identifying text that two other views (:func:`ocr_corpus.reread`) find in the others;
* seconds per image (detection, cleaning and the proof).
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import ocr_corpus  # noqa: E402

from deidlang.ocr import Settings  # noqa: E402
from deidlang.ocr.render import sample  # noqa: E402

#: Real frames without burned-in text: pydicom's CT, MR and RT dose test files and
#: deid-data's CT and cookie radiographs (every frame read, up to --ocr-frames).
TEXT_FREE = (
    ("pydicom", "CT_small.dcm"),
    ("pydicom", "693_J2KI.dcm"),
    ("pydicom", "MR_small.dcm"),
    ("pydicom", "examples_overlay.dcm"),
    ("pydicom", "rtdose.dcm"),
    ("deid-data", "humans"),
    ("deid-data", "dicom-cookies"),
)


def text_free_files() -> list[str]:
    from pydicom.data import get_testdata_file

    out = []
    for where, name in TEXT_FREE:
        if where == "pydicom":
            path = get_testdata_file(name)
            out += [str(path)] if path else []
            continue
        try:
            import deid_data
        except ImportError:
            continue
        folder = os.path.join(os.path.dirname(deid_data.__file__), "data", name)
        out += sorted(os.path.join(folder, f) for f in os.listdir(folder) if os.path.isfile(os.path.join(folder, f)))
    return out


def real_text_free(settings) -> tuple[int, int, list[str]]:
    """(frames read, files, the files whose pixels OCR changed)."""
    import warnings

    import numpy as np
    import pydicom

    from deidlang import pixels
    from deidlang.ocr import clean as ocr_clean
    from deidlang.ocr.render import frame_count, sample
    from deidlang.privacy import identifiers

    frames, files, changed = 0, 0, []
    for path in text_free_files():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path)
            if "PixelData" not in ds:
                continue
            before = pixels.masked_array(ds, ()).copy()
            ocr_clean.clean(ds, (), identifiers.harvest(ds), settings)
            after = pixels.masked_array(ds, ())
        files += 1
        frames += len(sample(frame_count(ds), settings.max_frames))
        if not np.array_equal(before, after):
            changed.append(os.path.basename(path))
    return frames, files, changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=110)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--detector", default="db", help="the text detector (db, none: the stroke proposals only)")
    parser.add_argument("--scope", default="all", choices=("all", "matched"))
    args = parser.parse_args(argv)
    settings = Settings(detector=args.detector, scope=args.scope)
    by_size: dict = collections.defaultdict(lambda: [0, 0, 0, 0, 0])
    by_contrast: dict = collections.defaultdict(lambda: [0, 0, 0, 0, 0])
    free = free_changed = failed = images = 0
    left = []  # (file, identifying spans the independent re-read found) of released outputs
    seconds = 0.0
    frames = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        items = ocr_corpus.build(folder, args.count, seed=args.seed)
        for item in items:
            result = ocr_corpus.evaluate(item, settings, again=True)
            seconds += result.seconds
            images += 1
            frames += len(sample(item.frames, settings.max_frames))
            if item.text_free:
                free += 1
                free_changed += result.changed > 0
                continue
            failed += not result.proof_passed
            if result.reread > 0:
                left.append((os.path.basename(item.path), result.reread))
            for line in result.lines:
                for key, table in ((line.line.size, by_size), (line.line.contrast, by_contrast)):
                    row = table[key]
                    row[0] += 1
                    row[1] += line.found
                    row[2] += line.identified
                    row[3] += line.removed >= 0.98
                    row[4] += line.read

    def table(title, rows, keys):
        print(f"| {title} | lines | read | found | identified | removed whole |")
        print("|---|---|---|---|---|---|")
        for k in keys:
            n, f, i, r, rd = rows[k]
            print(f"| {k} | {n} | {rd / n:.0%} | {f / n:.0%} | {i / n:.0%} | {r / n:.0%} |")

    sizes = sorted(by_size)
    table("size (px)", by_size, sizes)
    print()
    table("contrast", by_contrast, [c for c in ocr_corpus.CONTRASTS if c in by_contrast])
    tall = [by_size[s] for s in sizes if s >= 12]
    n = sum(r[0] for r in tall)
    print()
    print(
        f"lines of 12 px and taller: {n}; read {sum(r[4] for r in tall) / n:.1%}, found {sum(r[1] for r in tall) / n:.1%}, identified {sum(r[2] for r in tall) / n:.1%}, "
        f"removed {sum(r[3] for r in tall) / n:.1%}"
    )
    print(f"text-free images changed: {free_changed} of {free}")
    read, files, changed = real_text_free(settings)
    print(f"real text-free files (pydicom CT/MR/RT dose, deid-data CT and radiographs; {read} frames read): changed {len(changed)} of {files} {changed}")
    print(f"images whose proof still found identifying text (quarantined): {failed} of {images - free}")
    print(
        f"identifying spans an independent re-read (whole frames at three times the size; stroke places only) found in the "
        f"{images - free - failed} released outputs: {sum(n for _, n in left)} in {len(left)} files {left}"
    )
    print(
        f"OCR, cleaning and proof: {seconds / images:.2f} s per image, {seconds / frames:.2f} s per frame read on average "
        f"({images} images, {frames} frames read, {time.perf_counter() - started:.0f} s in all)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
