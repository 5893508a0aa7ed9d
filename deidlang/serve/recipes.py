"""Each route's recipes, checked and compiled as ``deidc run`` does, once at start-up.

A node never starts on a recipe that ``deidc run`` would refuse: the
decision is :func:`load_recipes`, the one place that asks the engine whether
a recipe's findings refuse a run (:func:`deidlang.diagnostics.refusing`,
through the same call ``deidc run`` makes, with no ``--allow``). Routes with the same recipes and options share
one compiled program list (a *pipeline*); workers get the pipelines once.

The node's lookup tables (``--table``) are read once, here, under its ``--on-missing``
policy, and every route's recipes are checked with them as ``deidc run --table`` checks
its recipes (E217-E219, E308); a table that no route's recipes look up is W209, said
once for the node.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Sequence

import attrs

from ..checks.tables import given
from ..lang.render import render_text
from ..tables import TableError, Tables, load_tables
from .config import NodeConfig, Route

__all__ = ["Pipeline", "Compiled", "compile_node", "load_recipes", "load_node_tables", "default_recipe"]


def default_recipe() -> str:
    """The bundled default recipe (DICOM PS3.15 Basic Profile), as ``deidc run`` applies it."""
    from ..cli import common as cli

    return str(cli.DEFAULT_RECIPE)


@attrs.frozen
class Pipeline:
    """Compiled, composed programs (keys bound) for one set of recipes and options."""

    recipes: tuple[str, ...]  # paths, option recipes first
    options: tuple[str, ...]
    programs: tuple = attrs.field(eq=False, repr=False)
    texts: dict = attrs.field(eq=False, repr=False, factory=dict)


@attrs.frozen
class Compiled:
    pipelines: tuple[Pipeline, ...]
    route_pipeline: dict = attrs.field(factory=dict)  # route name -> index into pipelines
    tables: Any = attrs.field(default=None, eq=False, repr=False)  # the node's Tables (None: no --table)

    def for_route(self, route: Route) -> int:
        return self.route_pipeline[route.name]


def load_recipes(paths: Sequence[str], tables: Tables | None = None) -> tuple[dict[str, str], list] | None:
    """Check and compile ``paths`` (in order), with the node's lookup ``tables`` (None:
    none were given, so that every lookup is a finding). Reports the diagnostics on
    stderr as ``deidc run`` does and returns None when the findings refuse a run.

    The single place that decides refusal: swap this call for the engine's
    refusal function when there is one.
    """
    from ..cli import common as cli

    # a node has no ids file and no functions file: a var:/func: line is refused (E215/E205),
    # as is every finding deidlang.diagnostics.refusing names; a node offers no --allow
    policy = argparse.Namespace(allow=None, deid_compat=False)
    loaded = cli.load_programs(list(paths), ids=None, funcs=None, strict=False, what="the node did not start", args=policy, applying=True, tables=tables)
    if loaded is None:
        return None
    texts, programs, _allowed = loaded
    return texts, programs


def load_node_tables(config: NodeConfig) -> Tables | None:
    """The node's lookup tables, read once (None: no ``--table``). Raises
    ``deidlang.cli.CliError`` for a table that cannot be read."""
    from ..cli import common as cli

    if not config.tables:
        return None
    try:
        return load_tables(dict(config.tables), config.on_missing)
    except TableError as err:
        raise cli.CliError(str(err)) from None


def compile_node(config: NodeConfig) -> Compiled | None:
    """Every route's pipeline (None after reporting a recipe that refuses the node).
    Raises ``deidlang.cli.CliError`` for an unreadable recipe, key file or table."""
    from ..cli import common as cli

    tables = load_node_tables(config)
    with given(tables) as seen:  # one context for every route: W209 only for a table no route looks up
        compiled = _compile_routes(config, tables)
        unused = seen.unused()
    if unused and compiled is not None:
        sys.stderr.write(render_text(unused, {}, color=cli.want_color(sys.stderr)))
    return compiled


def _compile_routes(config: NodeConfig, tables: Tables | None) -> Compiled | None:
    from ..cli import common as cli

    pipelines: list[Pipeline] = []
    index: dict[tuple, int] = {}
    route_pipeline: dict[str, int] = {}
    for route in config.effective_routes():
        recipes = route.recipes or config.recipes or (default_recipe(),)
        options = route.options if route.options is not None else config.options
        key = (tuple(recipes), tuple(options))
        if key not in index:
            args = argparse.Namespace(option=list(options), key_file=config.key_file)
            paths = cli.option_recipes(args) + list(recipes)
            for path in paths:
                if not os.path.isfile(path):
                    raise cli.CliError(f"cannot read recipe '{path}': no such file")
            loaded = load_recipes(paths, tables)
            if loaded is None:
                return None
            texts, programs = loaded
            programs = cli.compose_programs(programs, args)
            index[key] = len(pipelines)
            pipelines.append(Pipeline(tuple(paths), tuple(options), tuple(programs), texts))
        route_pipeline[route.name] = index[key]
    return Compiled(tuple(pipelines), route_pipeline, tables)
