"""The language server: pygls wiring of the features in this package.

Documents are synchronised whole (each change sends the full text, split
into lines as the parser splits them). Diagnostics are published after
every open and change, debounced by the work itself: an analysis starts as
soon as a change arrives, changes that arrive while it runs are folded into
one next analysis, analyses run on a worker thread so the server keeps
reading messages, and an analysis of a version that is already stale is
never published. Every request handler answers from the analysis of the
current version (computed on demand), and a failure inside a feature is
logged and answered with nothing, never a crash.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from ..version import __version__
from . import actions, completion, hover, navigation, settings, tokens
from .analysis import Analysis
from .positions import Positions
from .publish import to_lsp

__all__ = ["DeidServer", "create_server", "serve"]

log = logging.getLogger("deidlang.lsp")


def _path_of(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    return uri


class DeidServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("deidlang", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full)
        self.config = settings.Settings()
        self.root: str | None = None
        self.analyses: dict[str, Analysis] = {}
        self.pending: dict[str, asyncio.Task] = {}
        self.dirty: set[str] = set()  # documents changed while their analysis ran
        self.samples = hover.SampleCache()
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deidlang-analysis")
        self.published: dict[str, float] = {}  # uri -> time of the last publication (tests, benchmarks)

    # -- settings
    def apply_settings(self, raw: Any) -> None:
        self.config = settings.load(raw, self.root)
        self.analyses.clear()
        for problem in self.config.problems:
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=problem))

    # -- documents
    def text_of(self, uri: str) -> tuple[str, int | None] | None:
        doc = self.workspace.text_documents.get(uri)
        if doc is None:
            return None
        return doc.source, doc.version

    def analysis(self, uri: str) -> Analysis | None:
        """The analysis of the current version of a document (computed if need be)."""
        current = self.text_of(uri)
        if current is None:
            return None
        text, version = current
        cached = self.analyses.get(uri)
        if cached is not None and cached.version == version and cached.text == text and cached.options == self.config.options:
            return cached
        fresh = Analysis(text, _path_of(uri), self.config.options, version)
        self.analyses[uri] = fresh
        return fresh

    def positions(self, analysis: Analysis) -> Positions:
        return Positions(analysis.lines, str(self.workspace.position_encoding or "utf-16"))

    def schedule(self, uri: str) -> None:
        """Analyse the document soon. Changes that arrive while an analysis runs are
        folded into the next one: the latency of one analysis, never a queue of them."""
        task = self.pending.get(uri)
        if task is not None and not task.done():
            self.dirty.add(uri)
            return
        self.pending[uri] = asyncio.get_running_loop().create_task(self._diagnose(uri))

    async def _diagnose(self, uri: str) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                await asyncio.sleep(0)  # let changes already received land first
                self.dirty.discard(uri)
                current = self.text_of(uri)
                if current is None:
                    return
                text, version = current
                options = self.config.options
                fresh = await loop.run_in_executor(self.worker, Analysis, text, _path_of(uri), options, version)
                now = self.text_of(uri)
                if now is not None and now[1] == version and now[0] == text and options == self.config.options:
                    self.analyses[uri] = fresh
                    self.publish(uri, fresh)
                if uri not in self.dirty:
                    return
        except Exception:  # noqa: BLE001 - never let one document stop the server
            log.exception("analysis failed for %s", uri)

    def publish(self, uri: str, analysis: Analysis) -> None:
        positions = self.positions(analysis)
        found = [to_lsp(d, positions) for d in analysis.diagnostics]
        found += self.profile_diagnostics(analysis, positions)
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, version=analysis.version, diagnostics=found))
        self.published[uri] = time.perf_counter()

    def profile_diagnostics(self, analysis: Analysis, positions: Positions) -> list[types.Diagnostic]:
        """With ``profile: basic``: the lines that contradict PS3.15 Table E.1-1 (``deidc check --profile basic``)."""
        if self.config.profile != "basic" or any(d.is_error for d in analysis.diagnostics):
            return []
        from ..lang.source import Span
        from ..privacy import coverage

        report = coverage.coverage([(analysis.source.name, analysis.recipe)])
        out = []
        for h in report.handlings:
            if h.status != "contradicts" or h.line is None:
                continue
            _file, line, column, _text = h.line
            end = len(analysis.source.line(line)) + 1
            out.append(
                types.Diagnostic(
                    range=positions.range(Span(line, column, line, end)),
                    message=f"contradicts the Basic Profile: {h.row.label} needs {h.required}; {h.note}",
                    severity=types.DiagnosticSeverity.Warning,
                    source="deidlang profile basic",
                )
            )
        return out


def _guard(default: Any) -> Callable:
    """A feature that fails answers ``default`` (and logs why) instead of an error."""

    def wrap(fn: Callable) -> Callable:
        def handler(ls: DeidServer, params: Any) -> Any:
            try:
                return fn(ls, params)
            except Exception:  # noqa: BLE001
                log.exception("%s failed", fn.__name__)
                return default

        handler.__name__ = fn.__name__
        return handler

    return wrap


def create_server() -> DeidServer:
    server = DeidServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: DeidServer, params: types.InitializeParams) -> None:
        root = params.root_uri or (params.workspace_folders[0].uri if params.workspace_folders else None)
        ls.root = _path_of(root) if root else (params.root_path or None)
        ls.apply_settings(params.initialization_options)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: DeidServer, params: types.InitializedParams) -> None:
        return None

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: DeidServer, params: types.DidChangeConfigurationParams) -> None:
        raw = params.settings
        if raw is None or (isinstance(raw, dict) and not raw):
            try:  # the pull model: ask for the section
                got = await ls.workspace_configuration_async(types.ConfigurationParams(items=[types.ConfigurationItem(section="deidlang")]))
                raw = got[0] if got else None
            except Exception:  # noqa: BLE001 - a client without workspace/configuration
                raw = None
        ls.apply_settings(raw)
        for uri in list(ls.workspace.text_documents):
            ls.schedule(uri)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: DeidServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: DeidServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: DeidServer, params: types.DidSaveTextDocumentParams) -> None:
        return None

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: DeidServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        task = ls.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        ls.analyses.pop(uri, None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[":", "%", " "]))
    @_guard(None)
    def complete(ls: DeidServer, params: types.CompletionParams):
        a = ls.analysis(params.text_document.uri)
        if a is None:
            return None
        return completion.complete(a, ls.config, ls.positions(a), params.position)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    @_guard(None)
    def on_hover(ls: DeidServer, params: types.HoverParams):
        a = ls.analysis(params.text_document.uri)
        if a is None:
            return None
        positions = ls.positions(a)
        line, column = positions.column(params.position)
        found = hover.hover(a, ls.config, ls.samples, line, column)
        if found is None:
            return None
        text, span = found
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text), range=positions.range(span))

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    @_guard(None)
    def definition(ls: DeidServer, params: types.DefinitionParams):
        a = ls.analysis(params.text_document.uri)
        if a is None:
            return None
        positions = ls.positions(a)
        return navigation.definition(a, positions, params.text_document.uri, *positions.column(params.position)) or None

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    @_guard(None)
    def references(ls: DeidServer, params: types.ReferenceParams):
        a = ls.analysis(params.text_document.uri)
        if a is None:
            return None
        positions = ls.positions(a)
        line, column = positions.column(params.position)
        return navigation.references(a, positions, params.text_document.uri, line, column, params.context.include_declaration) or None

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @_guard(None)
    def document_symbols(ls: DeidServer, params: types.DocumentSymbolParams):
        a = ls.analysis(params.text_document.uri)
        return None if a is None else navigation.symbols(a, ls.positions(a))

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
    @_guard(None)
    def code_action(ls: DeidServer, params: types.CodeActionParams):
        a = ls.analysis(params.text_document.uri)
        return None if a is None else actions.code_actions(a, ls.positions(a), params.text_document.uri, params.range)

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    @_guard(None)
    def formatting(ls: DeidServer, params: types.DocumentFormattingParams):
        a = ls.analysis(params.text_document.uri)
        return None if a is None else actions.formatting(a, ls.positions(a))

    @server.feature(
        types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
        types.SemanticTokensLegend(token_types=tokens.LEGEND_TYPES, token_modifiers=tokens.LEGEND_MODIFIERS),
    )
    @_guard(None)
    def semantic_tokens(ls: DeidServer, params: types.SemanticTokensParams):
        a = ls.analysis(params.text_document.uri)
        return None if a is None else types.SemanticTokens(data=tokens.encode(a, ls.positions(a)))

    return server


def serve() -> None:
    """Run the server on standard input and output until the client exits.

    The protocol owns standard output: anything else that prints (a functions
    file, a library) writes to standard error instead."""
    import sys

    logging.basicConfig(level=os.environ.get("DEIDLANG_LSP_LOG", "WARNING").upper(), format="deidc lsp: %(levelname)s %(message)s")
    protocol_out = sys.stdout.buffer
    sys.stdout = sys.stderr
    create_server().start_io(sys.stdin.buffer, protocol_out)
