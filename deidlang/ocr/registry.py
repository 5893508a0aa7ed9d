"""Which OCR engines there are: Tesseract (:mod:`.tesseract`, built in) and any
engine plugged in with :func:`register` (a callable that takes the engine's options and
returns an :class:`~.engine.Engine`)."""

from __future__ import annotations

from typing import Any, Callable

from .engine import Engine, OcrUnavailable

__all__ = ["register", "engine", "ENGINES"]


#: name -> factory(**options) -> Engine
ENGINES: dict[str, Callable[..., Engine]] = {}


def register(name: str, factory: Callable[..., Engine]) -> None:
    """Make an engine available under ``name`` (``Settings(engine=name)``)."""
    ENGINES[name] = factory


def engine(name: str = "tesseract", **options: Any) -> Engine:
    """A ready engine (raises :class:`OcrUnavailable` when it cannot run here)."""
    if name == "tesseract" and name not in ENGINES:
        from .tesseract import TesseractEngine

        register("tesseract", TesseractEngine)

    factory = ENGINES.get(name)
    if factory is None:
        known = ", ".join(sorted(set(ENGINES) | {"tesseract"}))
        raise OcrUnavailable(f"unknown OCR engine '{name}' (known: {known})")
    return factory(**options)
