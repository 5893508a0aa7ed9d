"""Keys and keyed pseudonyms: ``deid_func:hashuid``, ``hashid`` and ``dateshift``.

Why keyed: an unkeyed hash of a UID or a patient ID (deid's
``pydicom_uuid``) can be recomputed by anyone who holds the original value,
so the "pseudonym" re-identifies the file. Here every pseudonym is an
HMAC-SHA256 under a secret key, with a different domain string per use, so
the same input and key give the same output on every file, run and machine,
and nobody without the key can link an output to an input.

Where the key comes from (first that applies):

1. a key bound to the Program (:func:`deidlang.runtime.keyed.bind`; ``deidc run --key-file``);
2. the environment variable ``DEIDLANG_KEY`` (the secret itself);
3. the environment variable ``DEIDLANG_KEY_FILE`` (a file that must exist);
4. the user's key file ``$XDG_CONFIG_HOME/deidlang/key`` (default
   ``~/.config/deidlang/key``), created with 32 random bytes on first use.

Never from the recipe text. When none can be had, a keyed function raises
:class:`MissingKey` (the runtime reports it as ApplyError R005): there is no
silent fallback to an unkeyed hash.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from pathlib import Path
from typing import Any

import attrs

from ..lang.diagnostics import DeidlangError

__all__ = [
    "Key",
    "MissingKey",
    "KEYED",
    "key_from_text",
    "key_from_file",
    "default_key",
    "user_key_path",
    "hash_uid",
    "hash_id",
    "day_offset",
]

#: deid_func built-ins that need a key (lookup: for the hash fallback of a missing row).
KEYED = frozenset(("hashuid", "hashid", "dateshift", "lookup", "cleancontent", "cleangraphics"))
MIN_KEY_BYTES = 16


class MissingKey(DeidlangError):
    """A keyed function ran and no key could be had (or the key is unusable)."""


@attrs.frozen(repr=False)
class Key:
    """A secret. Its repr and str never show it; ``fingerprint`` names it safely."""

    secret: bytes = attrs.field(eq=True)
    source: str = attrs.field(default="", eq=False)

    def __repr__(self) -> str:
        return f"<Key {self.fingerprint} from {self.source or 'memory'}>"

    __str__ = __repr__

    @property
    def fingerprint(self) -> str:
        """Eight hex digits that identify the key without revealing it."""
        return hashlib.sha256(b"deidlang:fingerprint\x00" + self.secret).hexdigest()[:8]

    def digest(self, domain: str, text: str) -> bytes:
        """HMAC-SHA256 of ``domain NUL text`` under the secret."""
        inner, outer = _pads(self.secret)
        h = inner.copy()
        h.update(domain.encode("ascii") + b"\x00" + text.encode("utf-8"))
        o = outer.copy()
        o.update(h.digest())
        return o.digest()


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
_PADS: dict[bytes, tuple[Any, Any]] = {}


def _pads(secret: bytes) -> tuple[Any, Any]:
    """SHA-256 states after the inner and outer HMAC key blocks (RFC 2104), made once
    per key: each digest then copies them (a third of ``hmac.digest``'s cost, which
    sets up the key and looks the hash up by name every call)."""
    pads = _PADS.get(secret)
    if pads is None:
        block = (hashlib.sha256(secret).digest() if len(secret) > 64 else secret).ljust(64, b"\x00")
        pads = (hashlib.sha256(block.translate(_IPAD)), hashlib.sha256(block.translate(_OPAD)))
        if len(_PADS) >= 16:
            _PADS.clear()
        _PADS[secret] = pads
    return pads


def key_from_text(text: str | bytes, source: str = "") -> Key:
    """A key from its text (surrounding whitespace ignored); at least 16 bytes."""
    secret = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    secret = secret.strip()
    if len(secret) < MIN_KEY_BYTES:
        raise MissingKey(f"the key{' in ' + source if source else ''} is too short: use at least {MIN_KEY_BYTES} characters (e.g. 64 random hex digits)")
    return Key(secret, source)


def key_from_file(path: str | os.PathLike) -> Key:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise MissingKey(f"cannot read the key file '{os.fspath(path)}': {exc.strerror or type(exc).__name__}") from None
    return key_from_text(data, os.fspath(path))


def user_key_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "deidlang" / "key"


def _create_user_key(path: Path) -> None:
    """Write a fresh random key to ``path`` unless one is there (atomic: link, never overwrite)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".key-{os.getpid()}-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


_LOCK = threading.Lock()
_CACHE: dict[tuple, Key] = {}


def default_key(*, create: bool = True) -> tuple[Key, bool]:
    """The key when none is bound (see the module docstring) and whether a new user key
    file was created by this call. Raises :class:`MissingKey`."""
    text = os.environ.get("DEIDLANG_KEY")
    if text:
        return key_from_text(text, "DEIDLANG_KEY"), False
    path_text = os.environ.get("DEIDLANG_KEY_FILE")
    if path_text:
        return key_from_file(path_text), False
    path = user_key_path()
    with _LOCK:
        created = False
        if not path.exists():
            if not create:
                raise MissingKey(f"no key: set DEIDLANG_KEY or DEIDLANG_KEY_FILE, or create '{path}'")
            try:
                _create_user_key(path)
                created = True
            except OSError as exc:
                raise MissingKey(f"no key: cannot create '{path}' ({exc.strerror or type(exc).__name__}); set DEIDLANG_KEY or DEIDLANG_KEY_FILE") from None
        try:
            stat = path.stat()
        except OSError:
            stat = None
        cache_key = (str(path), stat.st_mtime_ns if stat else None, stat.st_size if stat else None)
        key = _CACHE.get(cache_key)
        if key is None:
            key = key_from_file(path)
            _CACHE.clear()
            _CACHE[cache_key] = key
        return key, created


# --------------------------------------------------------------------------- pseudonyms


def resolve_key(bound: Key | None) -> Key:
    if bound is not None:
        return bound
    return default_key()[0]


def hash_uid(key: Key, uid: str, prefix: str = "2.25.") -> str:
    """A UID for ``uid`` under ``key``: ``2.25.`` and the decimal form of a UUID (version 8,
    RFC 9562 variant) made of the first 128 bits of the HMAC; another root gets as many
    digits as fit in 64 characters."""
    d = int.from_bytes(key.digest("deidlang:uid", uid.strip().rstrip("\x00")), "big")
    if prefix == "2.25.":
        n = d >> 128
        n &= ~(0xF << 76)
        n |= 0x8 << 76
        n &= ~(0x3 << 62)
        n |= 0x2 << 62
        return f"2.25.{n}"
    room = 64 - len(prefix)
    digits = str(d)[:room].lstrip("0") or "0"
    return prefix + digits


def hash_id(key: Key, value: str, length: int = 16, prefix: str = "") -> str:
    """An identifier for ``value`` under ``key``: ``prefix`` and ``length`` upper-case hex digits."""
    return prefix + key.digest("deidlang:id", value.strip()).hex().upper()[:length]


def day_offset(key: Key, patient: str, max_days: int) -> int:
    """A per-patient shift in days, in ``[-max_days, -1] U [1, max_days]``."""
    n = int.from_bytes(key.digest("deidlang:dateshift", patient.strip())[:8], "big")
    r = n % (2 * max_days)
    return r - max_days if r < max_days else r - max_days + 1
