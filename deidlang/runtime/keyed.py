"""Programs bound to a key: :func:`bind` gives every keyed built-in of a Program the key
(``deidc run --key-file``, or the default key read once for a whole run, so that every
worker uses the same one); :func:`needs_key` says whether any step needs one.

The key itself, where it comes from and the keyed pseudonyms are :mod:`.keys`.
"""

from __future__ import annotations

from typing import Any, Iterable

import attrs

from .keys import KEYED, Key

__all__ = ["bind", "needs_key"]


def _bound_step(step: Any, key: Key) -> Any:
    from .values import Builtin

    value = getattr(step, "value", None)
    if isinstance(value, Builtin) and value.name in KEYED | {"dummy"}:
        return attrs.evolve(step, value=attrs.evolve(value, key=key))
    return step


def bind(program: Any, key: Key) -> Any:
    """``program`` with ``key`` bound to every keyed built-in (the Program is not changed).

    Anything that is not a deidlang Program (a stand-in in tests) is returned as is.
    """
    from .program import Cache, Program

    if not isinstance(program, Program):
        return program
    steps = tuple(_bound_step(s, key) for s in program.steps)
    if steps == program.steps and all(a is b for a, b in zip(steps, program.steps)):
        return program
    return attrs.evolve(program, steps=steps, cache=Cache())


def needs_key(programs: Iterable[Any]) -> bool:
    """Whether any step of these Programs runs a keyed built-in."""
    from .values import Builtin

    for program in programs:
        for step in getattr(program, "steps", ()):
            value = getattr(step, "value", None)
            if isinstance(value, Builtin) and value.name in KEYED:
                return True
    return False
