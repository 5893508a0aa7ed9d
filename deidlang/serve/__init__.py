"""``deidc serve``: a de-identifying DICOM node (issue 16).

It receives objects over the DICOM network (C-STORE, C-ECHO), writes each one
to a durable spool before it acknowledges it, de-identifies it with the same
engine, recipes, keys and manifest as ``deidc run`` (:mod:`deidlang.engine`),
and forwards the result to other DICOM nodes, to folders or to a DICOMweb
STOW-RS service; a spool entry is removed only once its destination has
acknowledged it. docs/serve.md describes the node for operators.

Modules, by job:

* :mod:`.config` -- the node's settings (TOML file and command line), routes, destinations,
  lookup tables and the linkage file;
* :mod:`.recipes` -- reading the lookup tables once, checking and compiling each route's
  recipes with them (the refusal rule);
* :mod:`.spool` -- the durable store: received, de-identified, quarantined objects;
* :mod:`.receiver` -- the C-STORE/C-ECHO SCP (pynetdicom);
* :mod:`.processing` -- the worker pool that de-identifies spooled objects;
* :mod:`.forwarders` -- C-STORE SCU, folder and STOW-RS destinations;
* :mod:`.metrics` -- counters, the JSON log, the ``/metrics`` endpoint;
* :mod:`.service` -- the node: start-up, recovery, shutdown;
The ``deidc serve`` command line is :mod:`deidlang.cli.serve`.

Library code raises :class:`deidlang.serve.config.ConfigError` (and the
engine's typed errors) and prints nothing but its JSON log; only :mod:`deidlang.cli.serve`
prints to the terminal or exits.

Imports: the engine and everything below it, and :mod:`deidlang.cli.common` for loading
recipes exactly as ``deidc run`` does; nothing in deidlang imports it but
:mod:`deidlang.cli.serve`.
"""

from __future__ import annotations

__all__ = ["config", "recipes", "spool", "receiver", "processing", "forwarders", "metrics", "service"]
