"""What the planner keeps per file instead of its path: a 64-bit digest
(:func:`path_digest`) in a compact open-addressing set (:class:`DigestSet`, about 24
bytes a digest), so that the memory of a run of a million files stays small."""

from __future__ import annotations

import array
import hashlib
from typing import Iterable


def path_digest(text: str) -> int:
    """A 64-bit digest of a path: what the planner remembers per file (not the path)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=8).digest(), "little")


class DigestSet:
    """A set of 64-bit digests in about 24 bytes each (a Python set of ints takes about 75):
    open addressing with linear probing over an array of unsigned 64-bit slots, at most
    half full; 0 marks an empty slot (a digest of 0 is stored as 1). What the planner
    keeps per file, so the memory of a run of a million files stays small."""

    __slots__ = ("_slots", "_mask", "_count")

    def __init__(self, items: Iterable[int] = ()) -> None:
        self._slots = array.array("Q", bytes(8 * 1024))
        self._mask = 1023
        self._count = 0
        for item in items:
            self.add(item)

    def __len__(self) -> int:
        return self._count

    def _find(self, digest: int) -> int:
        """The slot holding ``digest``, or the empty slot where it would go."""
        slots, mask = self._slots, self._mask
        i = digest & mask  # the digests are uniformly distributed
        while True:
            value = slots[i]
            if value == digest or value == 0:
                return i
            i = (i + 1) & mask

    def __contains__(self, digest: int) -> bool:
        digest = digest or 1
        return self._slots[self._find(digest)] == digest

    def add(self, digest: int) -> None:
        digest = digest or 1
        i = self._find(digest)
        if self._slots[i] == digest:
            return
        self._slots[i] = digest
        self._count += 1
        if self._count * 2 > len(self._slots):
            old = self._slots
            self._slots = array.array("Q", bytes(16 * len(old)))
            self._mask = len(self._slots) - 1
            for value in old:
                if value:
                    self._slots[self._find(value)] = value
