"""``deidc lsp``: a Language Server Protocol server for recipes, over stdio.

Built on pygls 2 and lsprotocol (``pip install '.[lsp]'`` in a deidlang checkout), on the
parser and checker unchanged: diagnostics (exactly ``deidc check``'s),
completion, hover, definition and references of groups, document symbols,
quick fixes from the checker's hints, formatting (``deidc fmt``) and
semantic tokens. Settings and features: docs/toolchain.md.

Modules, by job: :mod:`.analysis` (a document, parsed and checked once per
version), :mod:`.positions`, :mod:`.publish` (diagnostics),
:mod:`.completion`, :mod:`.hover`, :mod:`.navigation`, :mod:`.actions`
(quick fixes, formatting), :mod:`.tokens`, :mod:`.settings`,
:mod:`.server`
(the pygls wiring).

May import: the library (:mod:`deidlang.tools`, :mod:`deidlang.api`,
:mod:`deidlang.checks` and everything below) and, to read the editor's ids and
functions files as ``deidc`` does, :mod:`deidlang.cli.common`; never the commands.
"""
