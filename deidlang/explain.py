"""Deprecated alias, kept for one release: ``deidc explain``'s tracer is
:mod:`deidlang.runtime.explain` since 0.2 (only the runtime knows which line decided an
element). Import from there; this module goes in the next release. Nothing in deidlang
imports it.
"""

from __future__ import annotations

from .runtime.explain import OUTCOMES, ElementExplanation, Explanation, Rule, Shadowed, Tracer, explain, render_json, render_text, to_dict

__all__ = [
    "Rule",
    "Shadowed",
    "ElementExplanation",
    "Explanation",
    "Tracer",
    "explain",
    "render_text",
    "render_json",
    "to_dict",
    "OUTCOMES",
]
