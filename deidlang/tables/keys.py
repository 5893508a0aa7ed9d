"""The ``key=`` of a lookup: which element of the original dataset is looked up.

``key=`` takes one element in any form a recipe line accepts for one element:
a keyword (``PatientID``), a tag (``(0010,0020)``, ``00100020``...), a nested
path through sequences (``OtherPatientIDsSequence__PatientID``: the element in
any item), an item path (``(0008,1140)__0__(0008,1155)``) or a private element
through its creator (``(0009,"ACME",10)``). The value looked up is that of the
first such element in file order, as text (several values joined by a
backslash), without surrounding spaces and NUL padding; an absent or empty
element has no key.
"""

from __future__ import annotations

import functools
import typing
from typing import Any

import attrs
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from .store import normal

__all__ = ["KeyPath", "BadKey", "key_path", "keyword_tag", "read", "value_text"]


class BadKey(ValueError):
    """``key=`` does not name one element (the message says why, with a did-you-mean)."""


@attrs.frozen
class KeyPath:
    """``steps``: ``("tag", TAG)``, ``("item", N)`` and ``("private", GROUP, CREATOR, LOW)``,
    outermost first. ``leaf``: the tag of the element read (None for a private one)."""

    text: str
    steps: tuple
    leaf: int | None

    @property
    def top(self) -> int | None:
        """The tag, when the key is a plain top-level element (the common, fast case)."""
        return self.steps[0][1] if len(self.steps) == 1 and self.steps[0][0] == "tag" else None


@functools.lru_cache(maxsize=256)
def key_path(text: str) -> KeyPath:
    """The element ``text`` names (cached). Raises :class:`BadKey`."""
    from ..lang import nodes
    from ..lang.parser import parse_line

    written = text.strip()
    if not written:
        raise BadKey("key= needs the element whose value is looked up, e.g. key=PatientID")
    line, problems = parse_line(f"REMOVE {written}")
    field = getattr(line, "field", None)
    if problems or field is None or field.text != written:
        raise BadKey(f"key={written} is not a field expression")
    if isinstance(field, nodes.Keyword):
        tag = keyword_tag(field.name)
        return KeyPath(written, (("tag", tag),), tag)
    if isinstance(field, nodes.Tag):
        return KeyPath(written, (("tag", field.value),), field.value)
    if isinstance(field, nodes.NestedName):
        tags = tuple(keyword_tag(p) for p in field.parts)
        return KeyPath(written, tuple(("tag", t) for t in tags), tags[-1])
    if isinstance(field, nodes.UidPath):
        steps = tuple(("item", s) if i % 2 else ("tag", s) for i, s in enumerate(field.steps))
        return KeyPath(written, steps, field.steps[-1])
    if isinstance(field, nodes.PrivateTag):
        return KeyPath(written, (("private", field.group, field.creator, field.element),), None)
    raise BadKey(
        f"key={written} can name several elements: name one, as a keyword (PatientID), a tag ((0010,0020)), "
        "a nested path (Sequence__Keyword) or an item path ((gggg,eeee)__0__(gggg,eeee))"
    )


@functools.lru_cache(maxsize=1)
def _keywords() -> dict[str, int]:
    from pydicom.datadict import keyword_dict

    return {k: v for k, v in keyword_dict.items() if k}


def keyword_tag(word: str) -> int:
    """The tag of a DICOM keyword (any case, when no other keyword differs only by case). Raises :class:`BadKey`."""
    keywords = _keywords()
    tag = keywords.get(word)
    if tag is not None:
        return tag
    folded = {k.lower(): v for k, v in keywords.items()}.get(word.lower())
    if folded is not None:
        return folded
    from ..lang.suggest import did_you_mean

    hint = did_you_mean(word, keywords, case_insensitive=True)
    raise BadKey(f"key={word}: no DICOM keyword '{word}'" + (f" ({hint})" if hint else ""))


def value_text(value: Any) -> str:
    """A value as the text a table holds for it: values joined by a backslash, normalised."""
    if value is None:
        return ""
    if isinstance(value, (MultiValue, list, tuple)):
        return normal("\\".join(normal(str(v)) for v in value))
    if isinstance(value, (bytes, bytearray)):
        return normal(bytes(value).decode("latin-1"))
    return normal(str(value))


def _raw_text(ds: Dataset, tag: int) -> str | None:
    """The top-level element's text, straight from the bytes when it is plain ASCII."""
    elem = ds._dict.get(tag)  # type: ignore[call-overload]  # keyed by BaseTag, an int
    if elem is None:
        return None
    if type(elem) is RawDataElement:
        from ..dicomio import rawtext

        texts = rawtext.texts(elem)
        if texts is not None:
            return normal("\\".join(texts))
        elem = ds[tag]
    return value_text(elem.value)


def read(ds: Dataset, path: KeyPath) -> str:
    """The key ``path`` names in ``ds`` ("" when the element is absent or empty)."""
    top = path.top
    if top is not None:
        return _raw_text(ds, top) or ""
    found = _find(ds, path.steps)
    return "" if found is None else value_text(found)


def _find(ds: Dataset, steps: tuple) -> Any:
    """The value of the first element (file order) that the steps reach, or None."""
    step, rest = steps[0], steps[1:]
    if step[0] == "private":
        _, group, creator, low = step
        try:
            elem = ds.get_private_item(group, low, creator)
        except (KeyError, ValueError):
            return None
        return elem.value if elem is not None else None
    tag = step[1]
    if tag not in ds._dict:
        return None
    elem = ds[tag]
    if not rest:
        value = elem.value
        return None if isinstance(value, Sequence) else value
    items: typing.Sequence[Any] = elem.value if isinstance(elem.value, Sequence) else ()
    if rest[0][0] == "item":
        index, rest = rest[0][1], rest[1:]
        items = items[index : index + 1] if index < len(items) else ()
        if not rest:
            return None
    for item in items:
        if isinstance(item, Dataset):
            found = _find(item, rest)
            if found is not None and value_text(found):
                return found
    return None
