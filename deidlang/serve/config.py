"""The node's settings: from a TOML file (``--config``) and the command line.

A node has one listening address, one spool, the node-wide defaults
(recipes, options, key, pixel cleaning, quarantine groups, lookup tables and
their missing-row policy, the linkage file), named
destinations and routes. A route picks, for the objects it matches (by
calling AE title, and optionally Modality and SOP Class), which recipes apply
and which destinations receive the result; the first route that matches
decides. Without routes, every object gets the node's recipes and goes to
every destination.

Everything is checked here before the node starts: unknown keys (with a
did-you-mean), values of the wrong kind, destinations that do not parse,
routes that name unknown destinations, a spool inside an output folder, a
linkage file inside the spool or an output folder.
Problems are collected and raised together as :class:`ConfigError`; messages
name settings and files, never data.
"""

from __future__ import annotations

import os
import re
from typing import Any, Iterable, Mapping, Sequence

import attrs

from ..lang.diagnostics import DeidlangError
from ..lang.suggest import did_you_mean
from ..tables import OnMissing, TableError, parse_spec

__all__ = [
    "ConfigError",
    "Destination",
    "Route",
    "Tls",
    "Limits",
    "NodeConfig",
    "parse_forward",
    "parse_allow",
    "parse_size",
    "load_toml",
    "build",
    "DEFAULT_PORT",
]

DEFAULT_PORT = 11112
DEFAULT_AE_TITLE = "DEIDC"

#: Destination names become folder names in the spool (its outbox): kept simple.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: An AE title: 1 to 16 characters of the default repertoire, no backslash, not all spaces.
_AE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40}


class ConfigError(DeidlangError):
    """The node's settings cannot be used. ``problems``: one message per problem."""

    def __init__(self, problems: Sequence[str]):
        self.problems = tuple(problems)
        super().__init__("; ".join(self.problems) if len(self.problems) == 1 else f"{len(self.problems)} problems in the settings")


@attrs.frozen
class Destination:
    """Where de-identified objects go. ``kind``: ``dicom`` (a C-STORE SCP at
    ``ae_title@host:port``), ``folder`` (``path``) or ``stow`` (a DICOMweb
    STOW-RS ``url``). ``name`` names its queue in the spool and in the metrics."""

    name: str
    kind: str
    ae_title: str = ""
    host: str = ""
    port: int = 0
    path: str = ""
    url: str = ""
    tls: bool = False  # dicom: connect with TLS (the node's --tls-ca verifies the peer)

    def describe(self) -> str:
        if self.kind == "dicom":
            return f"{self.ae_title}@{self.host}:{self.port}" + (" (TLS)" if self.tls else "")
        return self.path if self.kind == "folder" else self.url


@attrs.frozen
class Route:
    """Which objects (empty tuple: any) get which recipes and go where."""

    name: str
    calling_ae: tuple[str, ...] = ()
    modality: tuple[str, ...] = ()
    sop_class: tuple[str, ...] = ()
    recipes: tuple[str, ...] = ()  # empty: the node's recipes
    options: tuple[str, ...] | None = None  # None: the node's options
    destinations: tuple[str, ...] = ()  # empty: every destination

    @property
    def reads_header(self) -> bool:
        """Whether matching needs the object's header (not only the calling AE title)."""
        return bool(self.modality or self.sop_class)

    def matches(self, calling_ae: str, modality: str | None = None, sop_class: str | None = None) -> bool:
        if self.calling_ae and calling_ae not in self.calling_ae:
            return False
        if self.modality and (modality or "") not in self.modality:
            return False
        return not (self.sop_class and (sop_class or "") not in self.sop_class)


@attrs.frozen
class Tls:
    cert: str
    key: str
    ca: str | None = None  # with a CA: clients must present a certificate it signed


@attrs.frozen
class Limits:
    max_associations: int = 10
    max_pdu: int = 16382  # bytes; 0: no limit
    max_object_size: int = 2 << 30  # bytes
    acse_timeout: float = 30.0
    dimse_timeout: float = 60.0
    network_timeout: float = 60.0
    retry_min: float = 1.0  # seconds: the first wait after a destination failed
    retry_max: float = 300.0  # the longest wait between tries
    attempts: int = 5  # a destination that answers with a failure status for an object: tries before it is set aside


_LIMITS = Limits()


@attrs.frozen
class NodeConfig:
    ae_title: str
    port: int
    host: str
    spool: str
    recipes: tuple[str, ...]  # paths (empty: the bundled default recipe)
    options: tuple[str, ...] = ()
    key_file: str | None = None
    clean_pixels: bool = False
    quarantine: frozenset[str] = frozenset()
    remove_private: bool = True
    destinations: tuple[Destination, ...] = ()
    routes: tuple[Route, ...] = ()
    allow: tuple[tuple[str, str | None], ...] = ()  # (AE title, host or None); empty: anyone
    jobs: int = 1
    tls: Tls | None = None
    limits: Limits = Limits()
    metrics: tuple[str, int] | None = None  # (address, port) of the /metrics endpoint
    log: str | None = None  # JSON log file (None: stderr)
    source: str | None = None  # the config file, if any
    tables: tuple[tuple[str, str], ...] = ()  # (name, path) of each lookup table (--table NAME=PATH)
    on_missing: str = OnMissing.FAIL.value  # a key without a row: fail | quarantine | hash (--on-missing)
    linkage: str | None = None  # the linkage file (--linkage PATH): identifying data, outside the spool and outputs

    def destination(self, name: str) -> Destination:
        return next(d for d in self.destinations if d.name == name)

    def route_for(self, calling_ae: str, modality: str | None = None, sop_class: str | None = None) -> Route | None:
        """The first route that matches (None: no route takes the object)."""
        for route in self.effective_routes():
            if route.matches(calling_ae, modality, sop_class):
                return route
        return None

    def effective_routes(self) -> tuple[Route, ...]:
        if self.routes:
            return self.routes
        return (Route("default"),)

    def route_for_name(self, name: str | None) -> Route:
        return next(r for r in self.effective_routes() if r.name == name)

    def route_destinations(self, route: Route) -> tuple[str, ...]:
        return route.destinations or tuple(d.name for d in self.destinations)

    def allowed(self, calling_ae: str, host: str) -> bool:
        if not self.allow:
            return True
        return any(ae == calling_ae and (allowed_host is None or allowed_host == host) for ae, allowed_host in self.allow)


# =========================================================================== small parsers


def _check_ae(text: str, what: str) -> str:
    title = text.strip()
    if not _AE.match(text) or not title:
        raise ValueError(f"{what} '{text}' is not an AE title (1 to 16 characters, no backslash or control characters)")
    return title


def parse_forward(spec: str, name: str | None = None) -> Destination:
    """``AE@HOST:PORT`` (``HOST`` may be ``[IPv6]``) as a DICOM destination."""
    ae, sep, rest = spec.rpartition("@")
    if not sep:
        raise ValueError(f"--forward '{spec}': expected AE@HOST:PORT, e.g. PACS@127.0.0.1:4242")
    ae = _check_ae(ae, "--forward: the AE title")
    host, port = _host_port(rest, f"--forward '{spec}'")
    return Destination(name or _safe_name(f"{ae}_{host}_{port}"), "dicom", ae_title=ae, host=host, port=port)


def _host_port(text: str, what: str) -> tuple[str, int]:
    if text.startswith("["):
        host, sep, port_text = text[1:].partition("]:")
    else:
        host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"{what}: expected HOST:PORT after the '@'")
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"{what}: the port '{port_text}' is not a number") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"{what}: the port {port} is not between 1 and 65535")
    return host, port


def parse_allow(spec: str) -> tuple[str, str | None]:
    """``AE`` or ``AE@HOST``."""
    ae, sep, host = spec.partition("@")
    title = _check_ae(ae, "--allow-ae: the AE title")
    if sep and not host:
        raise ValueError(f"--allow-ae '{spec}': a host is expected after the '@'")
    return title, (host or None)


def parse_size(value: Any, what: str = "size") -> int:
    """Bytes from an integer or a text such as ``512MiB``, ``2 GB``."""
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a size such as 512MiB, got {value!r}")
    if isinstance(value, int):
        if value < 1:
            raise ValueError(f"{what}: expected a positive size, got {value}")
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"{what}: expected a size such as 512MiB or 2GB, got '{value}'")
    number, unit = float(match.group(1)), (match.group(2) or "").upper()
    size = int(number * _UNITS[unit])
    if size < 1:
        raise ValueError(f"{what}: expected a positive size, got '{value}'")
    return size


def parse_address(text: str, what: str) -> tuple[str, int]:
    """``PORT`` or ``ADDRESS:PORT`` (the address defaults to 127.0.0.1)."""
    if ":" not in str(text):
        try:
            port = int(text)
        except ValueError:
            raise ValueError(f"{what}: expected PORT or ADDRESS:PORT, got '{text}'") from None
        return "127.0.0.1", port
    return _host_port(str(text), what)


def _safe_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", text).strip("._-") or "destination"
    return name[:64]


# =========================================================================== TOML

#: Settings at the top level of the TOML file (each has a command-line option of the same name).
NODE_KEYS = (
    "ae_title",
    "port",
    "host",
    "spool",
    "recipe",
    "option",
    "key_file",
    "clean_pixels",
    "quarantine",
    "keep_private",
    "forward",
    "output",
    "allow_ae",
    "jobs",
    "tls_cert",
    "tls_key",
    "tls_ca",
    "max_associations",
    "max_pdu",
    "max_object_size",
    "acse_timeout",
    "dimse_timeout",
    "network_timeout",
    "retry_min",
    "retry_max",
    "attempts",
    "metrics",
    "log",
    "table",
    "on_missing",
    "linkage",
)
TABLES = ("destinations", "routes")
DESTINATION_KEYS = {"dicom": ("type", "ae_title", "host", "port", "tls"), "folder": ("type", "path"), "stow": ("type", "url")}
ROUTE_KEYS = ("name", "calling_ae", "modality", "sop_class", "recipe", "option", "destinations")


def load_toml(path: str) -> dict[str, Any]:
    """The TOML file as a dictionary (ConfigError when it cannot be read or parsed)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef,import-not-found,unused-ignore]
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as err:
        raise ConfigError([f"cannot read the config '{path}': {err.strerror or type(err).__name__}"]) from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError([f"the config '{path}' is not valid TOML: {err}"]) from None


def _unknown(keys: Iterable[str], known: Sequence[str], where: str) -> list[str]:
    out = []
    for key in keys:
        if key not in known:
            hint = did_you_mean(key, known)
            out.append(f"{where}: unknown setting '{key}'" + (f"; {hint}" if hint else ""))
    return out


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError(f"{what}: expected a text or a list of texts")


def _relative_to(base: str | None, path: str) -> str:
    if base is None or os.path.isabs(path):
        return path
    return os.path.normpath(os.path.join(base, os.path.expanduser(path)))


def build(settings: Mapping[str, Any], *, source: str | None = None) -> NodeConfig:
    """A checked :class:`NodeConfig` from settings (the TOML file's, with the command
    line's on top: same names). Paths in a file are relative to its folder."""
    problems: list[str] = []
    where = f"the config '{source}'" if source else "the settings"
    base = os.path.dirname(os.path.abspath(source)) if source else None
    problems += _unknown((k for k in settings if k not in TABLES), NODE_KEYS, where)

    def get(key: str, kind: type | tuple, default: Any) -> Any:
        value = settings.get(key, default)
        if value is default:
            return value
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            problems.append(f"{where}: '{key}' has the wrong kind of value")
            return default
        return value

    def attempt(fn, *args):
        try:
            return fn(*args)
        except ValueError as err:
            problems.append(str(err))
            return None

    ae_title = attempt(_check_ae, get("ae_title", str, DEFAULT_AE_TITLE), "the node's AE title") or DEFAULT_AE_TITLE
    port = get("port", int, DEFAULT_PORT)
    if not 0 <= port <= 65535:
        problems.append(f"{where}: port {port} is not between 0 and 65535")
    spool = get("spool", str, None)
    if not spool:
        problems.append("a spool folder is needed (--spool SPOOL_DIR, or 'spool' in the config)")
    spool = os.path.abspath(_relative_to(base, spool)) if spool else ""
    recipes = tuple(_relative_to(base, p) for p in (attempt(_strings, settings.get("recipe", []), "recipe") or ()))
    options = attempt(_strings, settings.get("option", []), "option") or ()
    problems += _bad_options(options, where)
    key_file = get("key_file", str, None)
    jobs = get("jobs", int, 1)
    if jobs < 1:
        problems.append(f"{where}: jobs must be at least 1")

    destinations: list[Destination] = []
    for spec in attempt(_strings, settings.get("forward", []), "forward") or ():
        found = attempt(parse_forward, spec)
        if found is not None:
            destinations.append(found)
    for n, folder in enumerate(attempt(_strings, settings.get("output", []), "output") or (), 1):
        path = os.path.abspath(_relative_to(base, folder))
        destinations.append(Destination(_safe_name(f"folder-{os.path.basename(path.rstrip(os.sep)) or n}"), "folder", path=path))
    tables = settings.get("destinations", {})
    if not isinstance(tables, dict):
        problems.append(f"{where}: [destinations] must be a table of named destinations")
        tables = {}
    for name, table in tables.items():
        destinations.extend(_destination(name, table, base, where, problems))
    names = [d.name for d in destinations]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"{where}: two destinations are named '{name}' (name them in [destinations.NAME])")

    routes = _routes(settings.get("routes", []), names, base, where, problems)
    if not destinations:
        problems.append("no destination: give --forward AE@HOST:PORT or --output DIR (or [destinations] in the config)")

    allow = tuple(x for x in (attempt(parse_allow, s) for s in attempt(_strings, settings.get("allow_ae", []), "allow_ae") or ()) if x)
    quarantine = frozenset(attempt(_strings, settings.get("quarantine", []), "quarantine") or ())

    tls = None
    cert, key, ca = get("tls_cert", str, None), get("tls_key", str, None), get("tls_ca", str, None)
    if cert or key:
        if not (cert and key):
            problems.append("TLS needs both --tls-cert and --tls-key")
        else:
            tls = Tls(_relative_to(base, cert), _relative_to(base, key), _relative_to(base, ca) if ca else None)
    elif ca:
        problems.append("--tls-ca goes with --tls-cert and --tls-key")

    limits = Limits(
        max_associations=get("max_associations", int, _LIMITS.max_associations),
        max_pdu=get("max_pdu", int, _LIMITS.max_pdu),
        max_object_size=attempt(parse_size, settings.get("max_object_size", _LIMITS.max_object_size), "max_object_size") or _LIMITS.max_object_size,
        acse_timeout=get("acse_timeout", float, _LIMITS.acse_timeout),
        dimse_timeout=get("dimse_timeout", float, _LIMITS.dimse_timeout),
        network_timeout=get("network_timeout", float, _LIMITS.network_timeout),
        retry_min=get("retry_min", float, _LIMITS.retry_min),
        retry_max=get("retry_max", float, _LIMITS.retry_max),
        attempts=get("attempts", int, _LIMITS.attempts),
    )
    for field in attrs.fields(Limits):
        if getattr(limits, field.name) < 0 or (field.name in ("max_associations", "attempts") and getattr(limits, field.name) < 1):
            problems.append(f"{where}: '{field.name}' is too small")
    metrics = None
    if settings.get("metrics") is not None:
        metrics = attempt(parse_address, settings["metrics"], "--metrics")

    if spool:
        for dest in destinations:
            if dest.kind == "folder" and _inside(spool, dest.path):
                problems.append(f"the output folder '{dest.path}' and the spool '{spool}' must not be inside each other")
    tables = _tables(attempt(_strings, settings.get("table", []), "table") or (), base, where, problems)
    on_missing = get("on_missing", str, OnMissing.FAIL.value)
    policies = [p.value for p in OnMissing]
    if on_missing not in policies:
        hint = did_you_mean(on_missing, policies)
        problems.append(f"{where}: on_missing '{on_missing}' is not one of {', '.join(policies)}" + (f"; {hint}" if hint else ""))
    linkage = get("linkage", str, None)
    linkage = os.path.abspath(_relative_to(base, linkage)) if linkage else None
    if linkage:
        shared = ([("the spool", spool)] if spool else []) + [("the output folder", d.path) for d in destinations if d.kind == "folder"]
        for what, folder in shared:
            if _inside(linkage, folder):
                problems.append(
                    f"the linkage file '{linkage}' must not be inside {what} '{folder}': "
                    "it re-identifies every output; keep it elsewhere, with whoever may re-link (the honest broker)"
                )
    if problems:
        raise ConfigError(problems)
    return NodeConfig(
        ae_title=ae_title,
        port=port,
        host=get("host", str, "0.0.0.0"),
        spool=spool,
        recipes=recipes,
        options=tuple(options),
        key_file=_relative_to(base, key_file) if key_file else None,
        clean_pixels=get("clean_pixels", bool, False),
        quarantine=quarantine,
        remove_private=not get("keep_private", bool, False),
        destinations=tuple(destinations),
        routes=routes,
        allow=allow,
        jobs=jobs,
        tls=tls,
        limits=limits,
        metrics=metrics,
        log=_relative_to(base, settings["log"]) if isinstance(settings.get("log"), str) else None,
        source=source,
        tables=tables,
        on_missing=on_missing,
        linkage=linkage,
    )


def _tables(specs: Sequence[str], base: str | None, where: str, problems: list[str]) -> tuple[tuple[str, str], ...]:
    """``NAME=PATH`` of each lookup table (paths relative to the config's folder)."""
    found: dict[str, str] = {}
    for spec in specs:
        try:
            name, path = parse_spec(spec)
        except TableError as err:
            problems.append(f"{where}: {err}")
            continue
        if name in found:
            problems.append(f"{where}: two tables are named '{name}'")
            continue
        found[name] = _relative_to(base, path)
    return tuple(found.items())


def _inside(a: str, b: str) -> bool:
    a, b = os.path.realpath(a), os.path.realpath(b)
    return a == b or a.startswith(b + os.sep) or b.startswith(a + os.sep)


def _destination(name: str, table: Any, base: str | None, where: str, problems: list[str]) -> list[Destination]:
    here = f"{where}: [destinations.{name}]"
    if not _NAME.match(name):
        problems.append(f"{here}: a destination name is letters, digits, '_', '.' and '-' (at most 64)")
        return []
    if not isinstance(table, dict):
        problems.append(f"{here}: expected a table")
        return []
    kind = table.get("type")
    if kind not in DESTINATION_KEYS:
        hint = did_you_mean(str(kind), list(DESTINATION_KEYS)) if isinstance(kind, str) else ""
        problems.append(f"{here}: 'type' must be one of {', '.join(DESTINATION_KEYS)}" + (f"; {hint}" if hint else ""))
        return []
    bad = _unknown(table, DESTINATION_KEYS[kind], here)
    if bad:
        problems.extend(bad)
        return []
    try:
        if kind == "dicom":
            ae = _check_ae(str(table.get("ae_title", "")), f"{here}: ae_title")
            host, port = table.get("host"), table.get("port")
            if not isinstance(host, str) or not host or not isinstance(port, int) or not 1 <= port <= 65535:
                raise ValueError(f"{here}: needs 'host' (text) and 'port' (1 to 65535)")
            return [Destination(name, "dicom", ae_title=ae, host=host, port=port, tls=bool(table.get("tls", False)))]
        if kind == "folder":
            path = table.get("path")
            if not isinstance(path, str) or not path:
                raise ValueError(f"{here}: needs 'path'")
            return [Destination(name, "folder", path=os.path.abspath(_relative_to(base, path)))]
        url = table.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(f"{here}: needs 'url' (http:// or https://, the DICOMweb service root)")
        return [Destination(name, "stow", url=url.rstrip("/"))]
    except ValueError as err:
        problems.append(str(err))
        return []


def _routes(value: Any, names: Sequence[str], base: str | None, where: str, problems: list[str]) -> tuple[Route, ...]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        problems.append(f"{where}: routes are written [[routes]] (an array of tables)")
        return ()
    routes = []
    for n, table in enumerate(value, 1):
        here = f"{where}: route {n}"
        bad = _unknown(table, ROUTE_KEYS, here)
        if bad:
            problems.extend(bad)
            continue
        try:
            fields = {key: _strings(table.get(key, []), f"{here}: {key}") for key in ("calling_ae", "modality", "sop_class", "recipe", "destinations")}
            options = _strings(table["option"], f"{here}: option") if "option" in table else None
        except ValueError as err:
            problems.append(str(err))
            continue
        for dest in fields["destinations"]:
            if dest not in names:
                hint = did_you_mean(dest, names)
                problems.append(f"{here}: unknown destination '{dest}'" + (f"; {hint}" if hint else ""))
        routes.append(
            Route(
                name=str(table.get("name", f"route-{n}")),
                calling_ae=tuple(a.strip() for a in fields["calling_ae"]),
                modality=fields["modality"],
                sop_class=fields["sop_class"],
                recipes=tuple(_relative_to(base, p) for p in fields["recipe"]),
                options=options,
                destinations=fields["destinations"],
            )
        )
    seen = [r.name for r in routes]
    for name in sorted({n for n in seen if seen.count(n) > 1}):
        problems.append(f"{where}: two routes are named '{name}'")
    for route in routes:
        problems += _bad_options(route.options or (), f"{where}: route '{route.name}'")
    return tuple(routes)


def _bad_options(names: Sequence[str], where: str) -> list[str]:
    """Profile options that have no bundled recipe (as `deidc run --option` accepts them),
    or that cannot be combined."""
    from ..privacy import profile

    known = [o.name for o in profile.OPTIONS if o.recipe]
    out = []
    for name in names:
        if name not in known:
            hint = did_you_mean(name, known)
            out.append(f"{where}: unknown option '{name}'" + (f"; {hint}" if hint else f" (one of {', '.join(known)})"))
            continue
        for other, why in profile.option(name).excludes:  # as `deidc run` refuses them (engine/preflight.py)
            if other in names:
                out.append(f"{where}: option '{name}' cannot be combined with option '{other}': {why}")
    return out
