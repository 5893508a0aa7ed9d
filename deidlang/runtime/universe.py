"""deid's field universe: every element of a dataset as a :class:`DicomField`.

Public API (used by :mod:`deidlang.compat` for ``get_identifiers``)::

    fields(dataset, *, expand_sequences=True, skip=DEFAULT_SKIP) -> list[DicomField]

returns the universe in deid 0.4.13's order: every top-level
element in tag order, then every file-meta element, then the contents of
sequence items breadth-first, queued as their parent sequences were met.
Elements whose keyword or ``(GGGG,EEEE)`` tag string is in ``skip`` are left
out together with everything inside them (``skip=()`` keeps everything).

A :class:`DicomField` quacks like deid's ``DicomField``: ``.element`` (the
live pydicom ``DataElement``), ``.name`` (``Seq__Keyword``), ``.uid``
(``(0008,1140)__0__(0008,1150)``), ``.is_filemeta``, ``.tag`` (``"(0010,0010)"``),
``.stripped_tag`` (``"00100010"``), ``.parent`` (the Dataset that holds the
element), ``name_contains``, ``value_contains`` and ``select_matches``. It
is handed to ``func:`` callables as ``field``.

Why it is built the way it is: the walk reads ``Dataset._dict`` directly
and converts a raw element only when it must (a sequence to walk into, a
private creator to read, an ambiguous VR), so fields nobody touches stay
raw and the dataset is written back as fast as it was read. Names and uids
are computed on first use. Nothing is written on the caller's dataset or
items (deid sets ``.prefix`` and ``.uid`` attributes on them).
"""

from __future__ import annotations

import re
from typing import Iterable

from pydicom.datadict import (
    RepeatersDictionary,
    dictionary_description,
    dictionary_has_tag,
    dictionary_keyword,
    dictionary_VR,
    mask_match,
    private_dictionary_description,
    repeater_has_tag,
)
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag

from ..dicomio.sequences import convert as convert_sequence

__all__ = [
    "DEFAULT_SKIP",
    "DicomField",
    "FieldInfo",
    "fields",
    "keyword_of",
    "name_of",
    "tag_string",
    "SkipList",
]

#: deid's default ``config.json`` -> ``get.skip``: never touched by
#: BLANK/REPLACE/JITTER/REMOVE unless ``disable_skip=True``.
DEFAULT_SKIP: tuple[str, ...] = (
    "PixelData",
    "RedPaletteColorLookupTableData",
    "GreenPaletteColorLookupTableData",
    "BluePaletteColorLookupTableData",
    "VOILUTSequence",
    "FileMetaInformationGroupLength",
    "FileMetaInformationVersion",
    "TransferSyntaxUID",
    "ImplementationClassUID",
)

_TAG_STRING = re.compile(r"\(([0-9A-F]{4}),([0-9A-F]{4})\)")


# --------------------------------------------------------------------------- tag facts (cached)

_KEYWORDS: dict[int, str] = {}
_NAMES: dict[tuple[int, object], str] = {}
_DICT_VR: dict[int, str | None] = {}


def keyword_of(tag: int) -> str:
    """The keyword deid sees: the main dictionary's, else ``""`` (private, repeaters, unknown)."""
    kw = _KEYWORDS.get(tag)
    if kw is None:
        kw = dictionary_keyword(tag) if (not (tag >> 16) & 1 and dictionary_has_tag(tag)) else ""
        _KEYWORDS[tag] = kw
    return kw


_REPEATER_KEYWORDS: dict[int, str] = {}


def repeater_keyword_of(tag: int) -> str:
    """The keyword of a repeating-group element (``OverlayData`` for (6002,3000)), else ``""``.

    deid does not see it (pydicom's ``DataElement.keyword`` is empty for these tags), so
    ``REMOVE OverlayData`` matches nothing under deid; deidlang matches it (W419)."""
    kw = _REPEATER_KEYWORDS.get(tag)
    if kw is None:
        kw = ""
        if not (tag >> 16) & 1 and not dictionary_has_tag(tag):
            mask = mask_match(tag)
            if mask:
                kw = RepeatersDictionary[mask][4] or ""
        _REPEATER_KEYWORDS[tag] = kw
    return kw


def name_of(tag: int, creator: object = None) -> str:
    """``DataElement.name`` for a tag (and private creator), without building an element."""
    key = (tag, creator)
    name = _NAMES.get(key)
    if name is None:
        if (tag >> 16) & 1:
            name = "Private tag data"
            if creator:
                try:
                    name = f"[{private_dictionary_description(Tag(tag), creator)}]"  # type: ignore[arg-type]  # a creator's text
                except (KeyError, TypeError, ValueError):
                    pass
            elif (tag & 0xFFFF) >> 8 == 0:
                name = "Private Creator"
        elif dictionary_has_tag(tag) or repeater_has_tag(tag):
            name = dictionary_description(tag)
        elif tag & 0xFFFF == 0:
            name = "Group Length"
        else:
            name = ""
        _NAMES[key] = name
    return name


def dictionary_vr(tag: int) -> str | None:
    """The public dictionary VR (``None`` when the tag is private or unknown)."""
    if tag in _DICT_VR:
        return _DICT_VR[tag]
    vr = None
    if not (tag >> 16) & 1:
        try:
            vr = dictionary_VR(tag)
        except KeyError:
            vr = None
    _DICT_VR[tag] = vr
    return vr


def tag_string(tag: int) -> str:
    """``(GGGG,EEEE)``, upper-case hex, as ``str(pydicom.tag.Tag)``."""
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


# --------------------------------------------------------------------------- skip lists


class SkipList:
    """A resolved ``get.skip`` list: keywords and ``(GGGG,EEEE)`` strings -> tag numbers.

    deid compares an element's keyword or its tag string with the list, at
    every depth. A keyword belongs to one tag of the main dictionary, so the
    comparison reduces to a set of tags.
    """

    __slots__ = ("entries", "tags")

    def __init__(self, entries: Iterable[str]):
        self.entries = tuple(entries)
        tags: set[int] = set()
        from pydicom.datadict import tag_for_keyword

        for entry in self.entries:
            if not isinstance(entry, str):
                continue
            m = _TAG_STRING.fullmatch(entry)
            if m:
                tags.add((int(m.group(1), 16) << 16) | int(m.group(2), 16))
                continue
            t = tag_for_keyword(entry)
            if t is not None and keyword_of(t) == entry:
                tags.add(t)
        self.tags = frozenset(tags)

    def __reduce__(self):
        return (SkipList, (self.entries,))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SkipList) and other.entries == self.entries

    def __hash__(self) -> int:
        return hash(self.entries)


EMPTY_SKIP = SkipList(())


# --------------------------------------------------------------------------- fields


class DicomField:
    """One element at one place in a dataset (deid's ``DicomField``).

    Mutable only through the runtime (``alive``/``visible`` and the match
    flags); callers should treat it as read-only.
    """

    __slots__ = (
        "tag_int",
        "parent",
        "owner",
        "index",
        "parent_name",
        "creator",
        "is_filemeta",
        "alive",
        "visible",
        "children",
        "ids",
        "excluded",
        "remove_target",
        "_name",
        "_uid",
        "dkey",
    )

    def __init__(
        self,
        tag: int,
        parent: Dataset,
        owner: DicomField | None = None,
        index: int = 0,
        creator: object = None,
        is_filemeta: bool = False,
        name: str | None = None,
        parent_name: str | None = None,
    ):
        self.tag_int = tag
        self.parent = parent
        self.owner = owner
        self.index = index
        self.parent_name = parent_name if parent_name is not None or owner is None else owner.name
        self.creator = creator
        self.is_filemeta = is_filemeta
        self.alive = True
        self.visible = True
        self.children: list[DicomField] | None = None
        self.ids: tuple[int, ...] = ()
        self.excluded = False
        self.remove_target = False
        self._name = name
        self._uid: str | None = None
        self.dkey = tag  # the key object of the element in ``parent._dict`` (fast lookups)

    # -- deid's DicomField interface
    @property
    def element(self) -> DataElement:
        """The live element (a raw element is converted on first access)."""
        return self.parent[self.dkey]

    @property
    def name(self) -> str:
        name = self._name
        if name is None:
            kw = keyword_of(self.tag_int)
            name = kw if self.parent_name is None else f"{self.parent_name}__{kw}"
            self._name = name
        return name

    @property
    def uid(self) -> str:
        uid = self._uid
        if uid is None:
            own = tag_string(self.tag_int)
            uid = own if self.owner is None else f"{self.owner.uid}__{self.index}__{own}"
            self._uid = uid
        return uid

    @property
    def tag(self) -> str:
        return tag_string(self.tag_int)

    @property
    def stripped_tag(self) -> str:
        return f"{self.tag_int >> 16:04X}{self.tag_int & 0xFFFF:04X}"

    @property
    def keyword(self) -> str:
        return keyword_of(self.tag_int)

    @property
    def is_private(self) -> bool:
        return bool((self.tag_int >> 16) & 1)

    def describe(self) -> str:
        """``(0010,0010) PatientName`` for messages (never the value)."""
        kw = keyword_of(self.tag_int)
        return f"{tag_string(self.tag_int)} {kw}" if kw else tag_string(self.tag_int)

    def name_contains(self, expression) -> bool:
        """deid's ``name_contains``: a regex searched in the field's representations.

        A string is compiled by :mod:`deidlang.lang.regexes` (bounded cost); a compiled
        pattern the caller made is used as it is."""
        search = _searcher(expression)
        info = FieldInfo.of(self)
        return any(search(r) for r in info.representations())

    def value_contains(self, expression) -> bool:
        """deid's ``value_contains``: a regex searched in ``str()`` of the value (or of each item)."""
        values = self.element.value
        if not isinstance(values, list):
            values = [values]
        search = _searcher(expression)
        return any(search(str(v)) for v in values)

    def select_matches(self, expression: str) -> bool:
        """deid's ``select_matches``: ``VR:XX`` or ``GROUP:gggg``."""
        attribute, value = expression.split(":", 1)
        attribute = attribute.upper()
        if attribute == "VR":
            return self.element.VR == value[0:2].upper()
        if attribute == "GROUP":
            return (self.tag_int >> 16) == int(value, 16)
        return False

    def kill(self) -> None:
        """Drop this field and everything inside it from the universe."""
        self.alive = False
        self.kill_children()

    def kill_children(self) -> None:
        stack = list(self.children or ())
        while stack:
            f = stack.pop()
            f.alive = False
            if f.children:
                stack.extend(f.children)

    def __str__(self) -> str:
        try:
            return f"{self.element}  [{self.name}]"
        except KeyError:
            return f"{self.tag}  [{self.name}]"

    __repr__ = __str__


def _searcher(expression):
    """``text -> found`` for a pattern string (case-insensitive, through
    :mod:`deidlang.lang.regexes`) or an object with a ``search`` method."""
    if isinstance(expression, str):
        from ..lang import regexes

        return regexes.compile(expression).search
    search = expression.search
    return lambda text: bool(search(text))


# --------------------------------------------------------------------------- the walk


def _creator_value(d: Dataset, ctag: int) -> object:
    """The value of creator element ``ctag``, as pydicom would decode it.

    Plain ASCII LO text is decoded here (what pydicom's conversion gives:
    trailing spaces and NULs stripped) without converting the element;
    anything else goes through pydicom.
    """
    raw = d._dict[ctag]  # type: ignore[index]  # Dataset._dict is keyed by BaseTag, an int
    if type(raw) is RawDataElement and raw.VR in ("LO", None):
        v = raw.value
        if isinstance(v, bytes) and v.isascii() and b"\\" not in v and b"\x1b" not in v:
            return v.decode("ascii").rstrip("\x00 ")
    value = d[ctag].value
    if value is not None and not isinstance(value, str):
        value = str(value)
    return value


def _is_sequence_raw(elem, tag: int) -> bool | None:
    """Whether a raw element may hold a sequence: True, False, or None ('convert to know')."""
    vr = elem.VR
    if vr == "SQ":
        return True
    if vr is None or vr == "UN":
        known = dictionary_vr(tag)
        if known is not None and known != "SQ":
            return False
        return None
    return False


def element_vr(d: Dataset, tag: int) -> str:
    """The VR deid would see for an element (converting only when the raw VR is not final)."""
    elem = d._dict[tag]  # type: ignore[index]  # keyed by BaseTag, an int
    if type(elem) is RawDataElement:
        vr = elem.VR
        if vr is not None and vr != "UN":
            return vr
        return d[tag].VR
    return elem.VR  # type: ignore[return-value]  # a converted element's VR is set


def walk(
    dataset: Dataset,
    *,
    skip_tags: frozenset = frozenset(),
    expand_sequences: bool = True,
    hide_skipped: bool = False,
    match=None,
    force_tags: frozenset = frozenset(),
    sparse: bool = True,
) -> list[DicomField]:
    """Every field in deid's order.

    ``skip_tags``: elements left out with their subtree (``hide_skipped=False``)
    or kept with ``visible=False`` set on them and their subtree
    (``hide_skipped=True``, for the KEEP pre-pass that needs the full tree).

    ``match(tag, parent_name, creator, dataset) -> (ids, excluded)``: when
    given, ``ids``/``excluded`` are set and, when ``sparse``, only fields
    with ids, sequences and ``force_tags`` are built (the rest could never
    be selected).
    """
    out: list[DicomField] = []
    queue: list[tuple[Dataset, DicomField | None, int, bool]] = []
    if len(dataset._dict):
        queue.append((dataset, None, 0, False))
    fm = dataset.__dict__.get("file_meta")
    if isinstance(fm, Dataset) and len(fm._dict):
        queue.append((fm, None, 0, True))
    seen_top: set[int] = set()
    qi = 0
    append = out.append
    raw_type = RawDataElement
    while qi < len(queue):
        d, owner, index, is_fm = queue[qi]
        qi += 1
        pairs = [(int(t), e, t) for t, e in d._dict.items()]
        pairs.sort(key=_first)
        slots: set[int] | None = None
        cvalues: dict[int, object] | None = None
        hidden_parent = owner is not None and not owner.visible
        top = owner is None
        parent_name = owner.name if owner is not None else None
        for tag, elem, key in pairs:
            creator = None
            if (tag >> 16) & 1:
                low = tag & 0xFFFF
                if low < 0x100:  # a creator slot (or group length): the group's data elements follow
                    if slots is None:
                        slots = set()
                    slots.add(tag)
                if type(elem) is raw_type:
                    ctag = (tag & 0xFFFF0000) | (low >> 8)
                    if ctag != tag and slots is not None and ctag in slots:
                        if cvalues is None:
                            cvalues = {}
                        creator = cvalues.get(ctag, _UNSET)
                        if creator is _UNSET:
                            creator = cvalues[ctag] = _creator_value(d, ctag)
                else:
                    creator = elem.private_creator  # type: ignore[union-attr]  # a DataElement: the raw ones were handled above
                    if creator is not None and not isinstance(creator, str):
                        creator = str(creator)
            if top:
                if tag in seen_top:
                    continue  # deid keeps the first field with a given uid
                seen_top.add(tag)
            skipped = tag in skip_tags
            if skipped and not hide_skipped:
                continue
            seq = None
            if expand_sequences:
                if type(elem) is raw_type:
                    maybe = _is_sequence_raw(elem, tag)
                    if maybe is not False:
                        if maybe is True:
                            convert_sequence(d, key, elem)  # fast path; else pydicom reads it below
                        elem = d[key]
                        seq = elem.value if isinstance(elem.value, Sequence) else None
                elif isinstance(elem.value, Sequence):
                    seq = elem.value
            answer = None
            if match is not None:
                answer = match(tag, parent_name, creator, d)
                if sparse and not answer[0] and seq is None and tag not in force_tags:
                    continue
            f = DicomField(tag, d, owner, index, creator, is_fm, parent_name=parent_name)
            f.dkey = key
            if answer is not None:
                f.ids, f.excluded = answer
            if skipped or hidden_parent:
                f.visible = False
            append(f)
            if owner is not None:
                if owner.children is None:
                    owner.children = [f]
                else:
                    owner.children.append(f)
            if seq is not None:
                f.children = []
                for i, item in enumerate(seq):
                    if isinstance(item, Dataset):
                        queue.append((item, f, i, False))
    return out


_UNSET = object()


def _first(pair):
    return pair[0]


def fields(
    dataset: Dataset,
    *,
    expand_sequences: bool = True,
    skip: Iterable[str] = DEFAULT_SKIP,
) -> list[DicomField]:
    """deid's field universe for ``dataset`` (see the module docstring)."""
    skip_list = skip if isinstance(skip, SkipList) else SkipList(skip)
    return walk(dataset, skip_tags=skip_list.tags, expand_sequences=expand_sequences)


class FieldInfo:
    """What static selectors may look at: computed once per distinct field key."""

    __slots__ = ("tag", "name", "creator", "vr", "_exact", "_reps")

    def __init__(self, tag: int, name: str, creator: object, vr: str | None):
        self.tag = tag
        self.name = name
        self.creator = creator
        self.vr = vr
        self._exact: frozenset[str] | None = None
        self._reps: tuple[str, ...] | None = None

    @classmethod
    def of(cls, field: DicomField, vr: str | None = None) -> FieldInfo:
        return cls(field.tag_int, field.name, field.creator, vr)

    @property
    def is_private(self) -> bool:
        return bool((self.tag >> 16) & 1)

    def _private_forms(self, creator: object) -> tuple[str, str]:
        g, e = self.tag >> 16, self.tag & 0xFF
        bare = f'{g:04X},"{creator}",{e:02X}'
        return bare, f"({bare})"

    def exact_keys(self) -> frozenset[str]:
        """Lower-cased strings an exact reference may equal (deid's lookup tables)."""
        keys = self._exact
        if keys is None:
            tag = self.tag
            ks = {tag_string(tag).lower(), f"{tag >> 16:04x}{tag & 0xFFFF:04x}"}
            if self.name:
                ks.add(self.name.lower())
            ename = name_of(tag, self.creator)
            if ename:
                ks.add(ename.lower())
            kw = keyword_of(tag) or repeater_keyword_of(tag)  # deid sees no keyword in repeating groups (W419)
            if kw:
                ks.add(kw.lower())
            if self.is_private:
                ks.update(f.lower() for f in self._private_forms(self.creator))
            keys = self._exact = frozenset(ks)
        return keys

    def representations(self) -> tuple[str, ...]:
        """The strings an expander regex is searched in (in deid's order)."""
        reps = self._reps
        if reps is None:
            tag = self.tag
            r = [
                self.name.lower(),
                tag_string(tag).lower(),
                f"{tag >> 16:04X}{tag & 0xFFFF:04X}",
                name_of(tag, self.creator),
                keyword_of(tag),
            ]
            if self.is_private and self.creator is not None:
                r.extend(self._private_forms(self.creator))
            reps = self._reps = tuple(r)
        return reps
