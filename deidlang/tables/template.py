"""``deidc identifiers --keys PatientID,AccessionNumber --format csv``: the enrolment table to fill in.

One row per distinct combination of the keys' values among the inputs, with
how many files and studies (distinct StudyInstanceUID) each has, and empty
columns ready for the study's pseudonyms (``subject_id``, ``day_offset``...).
Files are read one at a time, up to the pixel data; what is held is one entry
per row (the keys, a count, the studies' 64-bit digests). The table holds
identifying data: it is written readable by its owner only (mode 0600), and
appears under its name only once complete.
"""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Any, Iterable, Sequence

from .keys import key_path, read

__all__ = ["Template", "COUNT_COLUMNS"]

#: The columns the template adds after the keys.
COUNT_COLUMNS = ("files", "studies")
_STUDY = key_path("StudyInstanceUID")


class Template:
    """Collects the rows; :meth:`add` one dataset at a time, then :meth:`write`."""

    def __init__(self, keys: Sequence[str], columns: Sequence[str] = ()):
        self.paths = [key_path(k) for k in keys]
        self.keys = [p.text for p in self.paths]
        clash = [c for c in columns if c in self.keys or c in COUNT_COLUMNS]
        if clash:
            raise ValueError(f"column '{clash[0]}' is named twice (the keys and the counts '{', '.join(COUNT_COLUMNS)}' come first)")
        self.columns = list(dict.fromkeys(columns))
        self.rows: dict[tuple[str, ...], list[Any]] = {}
        self.files = 0
        self.keyless = 0

    def add(self, ds: Any) -> None:
        values = tuple(read(ds, p) for p in self.paths)
        self.files += 1
        if not any(values):
            self.keyless += 1
            return
        entry = self.rows.get(values)
        if entry is None:
            entry = self.rows[values] = [0, set()]
        entry[0] += 1
        study = read(ds, _STUDY)
        if study:
            entry[1].add(hashlib.blake2b(study.encode("utf-8", "surrogatepass"), digest_size=8).digest())

    def lines(self) -> Iterable[str]:
        """The CSV text, a row at a time, sorted by the keys."""
        header = [*self.keys, *COUNT_COLUMNS, *self.columns]
        empty = [""] * len(self.columns)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(header)
        yield buf.getvalue()
        for values in sorted(self.rows):
            count, studies = self.rows[values]
            buf.seek(0)
            buf.truncate()
            writer.writerow([*values, count, len(studies), *empty])
            yield buf.getvalue()
