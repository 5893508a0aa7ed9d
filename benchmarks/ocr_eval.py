"""OCR on the generated burned-in text corpus (tests/ocr_corpus.py): recall by text size
and contrast, text-free images changed, the proof, and the cost per image.

    python benchmarks/ocr_eval.py [COUNT] [--seed N]

Writes the corpus to a temporary folder, cleans every image with OCR only (no recipe
region: what OCR alone finds), and prints:

* found: a line OCR read over the drawn line; identified: one of those matched an
  identifying value of the header (or a date, long number or Last^First shape);
  removed: at least 98% of the line's ink lies in the blanked boxes;
* text-free images whose pixels changed;
* files whose proof still found identifying text (the run quarantines them);
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=110)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    settings = Settings()
    by_size: dict = collections.defaultdict(lambda: [0, 0, 0, 0])
    by_contrast: dict = collections.defaultdict(lambda: [0, 0, 0, 0])
    free = free_changed = failed = images = 0
    seconds = 0.0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        items = ocr_corpus.build(folder, args.count, seed=args.seed)
        for item in items:
            result = ocr_corpus.evaluate(item, settings)
            seconds += result.seconds
            images += 1
            if item.text_free:
                free += 1
                free_changed += result.changed > 0
                continue
            failed += not result.proof_passed
            for line in result.lines:
                for key, table in ((line.line.size, by_size), (line.line.contrast, by_contrast)):
                    row = table[key]
                    row[0] += 1
                    row[1] += line.found
                    row[2] += line.identified
                    row[3] += line.removed >= 0.98

    def table(title, rows, keys):
        print(f"| {title} | lines | found | identified | removed |")
        print("|---|---|---|---|---|")
        total = [0, 0, 0, 0]
        for k in keys:
            n, f, i, r = rows[k]
            total = [a + b for a, b in zip(total, rows[k])]
            print(f"| {k} | {n} | {f / n:.0%} | {i / n:.0%} | {r / n:.0%} |")
        return total

    sizes = sorted(by_size)
    table("size (px)", by_size, sizes)
    print()
    table("contrast", by_contrast, [c for c in ocr_corpus.CONTRASTS if c in by_contrast])
    tall = [by_size[s] for s in sizes if s >= 12]
    n = sum(r[0] for r in tall)
    print()
    print(
        f"lines of 12 px and taller: {n}; found {sum(r[1] for r in tall) / n:.1%}, identified {sum(r[2] for r in tall) / n:.1%}, "
        f"removed {sum(r[3] for r in tall) / n:.1%}"
    )
    print(f"text-free images changed: {free_changed} of {free}")
    print(f"images whose proof still found identifying text (quarantined): {failed} of {images - free}")
    print(f"OCR, cleaning and proof: {seconds / images:.2f} s per image on average ({images} images, {time.perf_counter() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
