"""'did you mean' from a real candidate set, worded the same way everywhere."""

from __future__ import annotations

import difflib
from typing import Iterable


def best_matches(word: str, candidates: Iterable[str], *, n: int = 3, cutoff: float = 0.75, case_insensitive: bool = False) -> list[str]:
    """Up to ``n`` candidates close to ``word`` (difflib ratio >= ``cutoff``)."""
    cands = list(candidates)
    if not word or not cands:
        return []
    if case_insensitive:
        by_lower: dict[str, str] = {}
        for c in cands:
            by_lower.setdefault(c.lower(), c)
        exact = by_lower.get(word.lower())
        if exact is not None and exact != word:
            return [exact]
        found = difflib.get_close_matches(word.lower(), list(by_lower), n=n, cutoff=cutoff)
        return [by_lower[f] for f in found]
    return difflib.get_close_matches(word, cands, n=n, cutoff=cutoff)


def pretty(choices: list[str], prefix: str = "") -> str:
    quoted = [f"'{prefix}{c}'" for c in choices]
    if len(quoted) == 1:
        return quoted[0]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]


def did_you_mean(word: str, candidates: Iterable[str], *, prefix: str = "", n: int = 3, cutoff: float = 0.75, case_insensitive: bool = False) -> str:
    """``did you mean 'X'?`` (or ``'X' or 'Y'``), or ``""`` when nothing is close."""
    found = best_matches(word, candidates, n=n, cutoff=cutoff, case_insensitive=case_insensitive)
    return f"did you mean {pretty(found, prefix)}?" if found else ""
