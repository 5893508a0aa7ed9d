"""``deidc serve``: the command line of the node (:mod:`deidlang.serve`), registered by :mod:`deidlang.cli.app`.

Exit status: 0 after a clean shutdown (or ``--check-config`` found nothing
wrong); 1 when a recipe or the settings have problems (the node does not
start); 2 when the node cannot run (the spool is in use, the port is taken,
a file cannot be read).
"""

from __future__ import annotations

import argparse
import importlib.util
import signal
import sys
import threading
from typing import Any

from ..serve.config import DEFAULT_AE_TITLE, DEFAULT_PORT, ConfigError, NodeConfig, build, load_toml
from ..version import install_hint
from . import tables as cli_tables

__all__ = ["register", "run", "settings_from"]

PROG = "deidc"

#: Command-line options that map one to one onto top-level settings of the TOML file.
_SCALARS = (
    "ae_title",
    "port",
    "host",
    "spool",
    "key_file",
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
    "on_missing",
    "linkage",
)
_LISTS = ("recipe", "option", "quarantine", "forward", "output", "allow_ae", "table")
_FLAGS = ("clean_pixels", "keep_private")


def register(sub: Any) -> argparse.ArgumentParser:
    """Add ``serve`` to ``deidc``'s sub-commands."""
    from ..privacy import profile

    serve = sub.add_parser(
        "serve",
        help="run a de-identifying DICOM node: receive (C-STORE), de-identify, forward",
        description=(
            "Receive DICOM objects over the network (C-STORE, C-ECHO), de-identify them with the same recipes, "
            "keys and options as `deidc run` (without --recipe: the bundled default recipe) and forward them to "
            "other DICOM nodes (--forward), folders (--output) or DICOMweb STOW-RS services (in the --config file). "
            "An object is acknowledged only once it is safe in the spool; it leaves the spool once its "
            "destination has acknowledged it. SIGTERM or Ctrl-C stops the node cleanly; the spool is kept and "
            "resumed at the next start. See docs/serve.md."
        ),
    )
    node = serve.add_argument_group("the node")
    node.add_argument("--config", metavar="NODE.toml", help="settings file (TOML): the options below, destinations and routes")
    node.add_argument("--ae-title", dest="ae_title", metavar="AE", help=f"the node's AE title (default: {DEFAULT_AE_TITLE})")
    node.add_argument("--host", metavar="ADDRESS", help="address to listen on (default: all, 0.0.0.0)")
    node.add_argument("--port", type=int, metavar="PORT", help=f"port to listen on (default: {DEFAULT_PORT}; 0: any free port)")
    node.add_argument("--spool", metavar="SPOOL_DIR", help="the durable store for received and de-identified objects")
    node.add_argument("--jobs", type=int, metavar="N", help="worker processes that de-identify (default: 1, a thread)")
    node.add_argument(
        "--allow-ae",
        dest="allow_ae",
        action="append",
        metavar="AE[@HOST]",
        help="accept associations only from this calling AE title (from HOST only, if given); repeatable",
    )
    node.add_argument("--check-config", action="store_true", help="check the settings and every recipe, then exit (0: fine, 1: problems); does not listen")

    recipes = serve.add_argument_group("de-identification (as `deidc run`)")
    recipes.add_argument("--recipe", action="append", metavar="RECIPE", help="recipe to apply (repeatable; applied in order)")
    recipes.add_argument(
        "--option",
        action="append",
        metavar="NAME",
        choices=[o.name for o in profile.OPTIONS if o.recipe],
        help="apply this bundled profile option recipe first (repeatable)",
    )
    recipes.add_argument("--key-file", dest="key_file", metavar="PATH", help="secret key for the keyed built-ins (as `deidc run`)")
    recipes.add_argument(
        "--clean-pixels", dest="clean_pixels", action="store_true", default=None, help="also blank the regions of the recipe's %%filter labels"
    )
    recipes.add_argument(
        "--quarantine", action="append", metavar="GROUP", help="hold objects whose %%filter verdict is GROUP in SPOOL_DIR/quarantine/ (repeatable)"
    )
    recipes.add_argument("--keep-private", dest="keep_private", action="store_true", default=None, help="keep private elements (default: removed)")

    tables = serve.add_argument_group("lookup tables (deid_func:lookup, as `deidc run`)")
    cli_tables.add_table_option(tables)
    cli_tables.add_on_missing(tables)
    tables.add_argument(
        "--linkage",
        metavar="PATH",
        help="write what every table and keyed pseudonym stands for (kind, original, replacement, first object) to PATH "
        "(.csv, or .sqlite/.db), mode 0600, outside the spool and the output folders: identifying data, for the honest broker only",
    )

    dest = serve.add_argument_group("destinations (at least one)")
    dest.add_argument("--forward", action="append", metavar="AE@HOST:PORT", help="another DICOM node (C-STORE); repeatable")
    dest.add_argument("--output", action="append", metavar="DIR", help="a folder (Study/Series/SOPInstance.dcm); repeatable")

    limits = serve.add_argument_group("limits")
    limits.add_argument("--max-associations", dest="max_associations", type=int, metavar="N", help="concurrent associations (default: 10)")
    limits.add_argument("--max-pdu", dest="max_pdu", type=int, metavar="BYTES", help="maximum PDU size received (default: 16382; 0: no limit)")
    limits.add_argument("--max-object-size", dest="max_object_size", metavar="SIZE", help="largest object accepted, e.g. 512MiB (default: 2GiB)")
    for name, default in (("acse", 30), ("dimse", 60), ("network", 60)):
        limits.add_argument(
            f"--{name}-timeout",
            dest=f"{name}_timeout",
            type=float,
            metavar="SECONDS",
            help=f"{name.upper() if name != 'network' else 'network'} time-out (default: {default})",
        )
    limits.add_argument("--retry-min", dest="retry_min", type=float, metavar="SECONDS", help="first wait after a destination failed (default: 1)")
    limits.add_argument("--retry-max", dest="retry_max", type=float, metavar="SECONDS", help="longest wait between tries (default: 300)")
    limits.add_argument("--attempts", type=int, metavar="N", help="tries before an object a destination refuses is set aside (default: 5)")

    ops = serve.add_argument_group("operations")
    ops.add_argument("--metrics", metavar="[ADDRESS:]PORT", help="serve Prometheus /metrics here (address default: 127.0.0.1)")
    ops.add_argument("--log", metavar="FILE", help="write the JSON log here (default: stderr)")
    ops.add_argument("--tls-cert", dest="tls_cert", metavar="CERT.pem", help="TLS: the node's certificate")
    ops.add_argument("--tls-key", dest="tls_key", metavar="KEY.pem", help="TLS: the node's private key")
    ops.add_argument("--tls-ca", dest="tls_ca", metavar="CA.pem", help="TLS: accept only clients with a certificate this CA signed")
    serve.set_defaults(handler=run)
    return serve


def settings_from(args: argparse.Namespace) -> tuple[dict[str, Any], str | None]:
    """The TOML file's settings with the command line's on top (a list given on the
    command line replaces the file's)."""
    settings: dict[str, Any] = load_toml(args.config) if getattr(args, "config", None) else {}
    for name in _SCALARS + _LISTS:
        value = getattr(args, name, None)
        if value is not None:
            settings[name] = value
    for name in _FLAGS:
        if getattr(args, name, None):
            settings[name] = True
    return settings, getattr(args, "config", None)


def _err(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from ..serve.recipes import compile_node
    from ..serve.service import Node, NodeError
    from . import common as cli

    try:
        settings, source = settings_from(args)
        config = build(settings, source=source)
    except ConfigError as err:
        for problem in err.problems:
            _err(f"error: {problem}")
        return 1 if args.check_config else 2
    if config.clean_pixels:
        cli.require_pixels()
    if any(d.kind == "stow" for d in config.destinations):
        _require("dicomweb_client", "STOW-RS destinations need dicomweb-client")
    if config.metrics is not None:
        _require("prometheus_client", "--metrics needs prometheus-client")
    _require("pynetdicom", "deidc serve needs pynetdicom")
    compiled = compile_node(config)
    if compiled is None:
        return 1
    if args.check_config:
        _describe(config, compiled.tables)
        return 0
    log = None
    if config.log:
        try:
            log = open(config.log, "a", encoding="utf-8")
        except OSError as err:
            raise cli.CliError(f"cannot open the log '{config.log}': {err.strerror or type(err).__name__}") from None
    node = Node(config, compiled, log=log)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        try:
            node.start()
        except NodeError as err:
            _err(f"error: {err}")
            return 2
        while not stop.wait(60.0):
            node.log.write("status", **{k: v for k, v in node.status().items()})
        node.stop(grace=config.limits.dimse_timeout)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if log is not None:
            log.close()
    return 0


def _require(module: str, what: str) -> None:
    from . import common as cli

    if importlib.util.find_spec(module) is None:
        raise cli.CliError(f"{what}: {install_hint('serve')}")


def _describe(config: NodeConfig, tables: Any = None) -> None:
    """What --check-config found (stdout)."""
    routes = config.effective_routes()
    print(f"config OK: AE {config.ae_title} on {config.host}:{config.port}, spool {config.spool}")
    for dest in config.destinations:
        print(f"  destination {dest.name}: {dest.kind} {dest.describe()}")
    for route in routes:
        who = ", ".join(route.calling_ae) or "any calling AE"
        extra = "".join(f"; {k} {', '.join(v)}" for k, v in (("modality", route.modality), ("SOP class", route.sop_class)) if v)
        print(f"  route {route.name}: {who}{extra} -> {', '.join(config.route_destinations(route))}")
    print(
        f"  recipes checked: {len({p for r in routes for p in (r.recipes or config.recipes or ('default',))})} set(s); allow list: "
        + (", ".join(ae + (f"@{host}" if host else "") for ae, host in config.allow) or "anyone")
    )
    if tables:
        for name, table in tables.items():
            print(f"  table {name}: {table.rows} {table.row_word}{'s' if table.rows != 1 else ''} from {table.source}")
        print(f"  a key without a row: {config.on_missing} (--on-missing)")
    if config.linkage:
        print(f"  linkage file: {config.linkage} (identifying data)")
