"""The run: :class:`Batch` (a prepared job: inputs and output checked, files counted)
streams one :class:`~.job.FileResult` per file, in input order, through local workers
(:mod:`.pool`) or a Dask cluster (:mod:`.distributed`), records each in the manifest
(:mod:`.manifest`) and renames its output into place; :func:`prepare`, :func:`run` and
:func:`execute` are the entry points (the engine's overview is :mod:`deidlang.engine`).

Library code: raises :class:`~.job.BatchError` for problems with the job itself,
never prints, never exits.
"""

from __future__ import annotations

import math
import os
import signal
from typing import Callable, Iterator, Mapping, Sequence

import attrs

from ..dicomio.atomic import FATAL_ERRNOS, WriteError, describe, errno_of, fsync_directory, remove_quietly
from ..lang.diagnostics import DeidlangError
from ..tables import runs as tables_runs
from .digests import DigestSet, path_digest
from .inputs import Root, ids_by_uid, read_sop_instance_uid, roots, walk_real
from .job import NO_IDS_ENTRY, BatchError, FileResult, Job, Options, Summary, Task
from .manifest import MANIFEST, MANIFEST_RECORDS, Manifest, manifest_header, source_digest
from .outputs import OutputError, make_folders, remove_temporaries
from .paths import confined, is_url
from .plan import NameFlags, check_output, input_files, mirror_names, plan
from .pool import Executor, InProcess, Pool, batch_size, ordered
from .worker import Worker

__all__ = ["Batch", "prepare", "run", "execute"]


# =========================================================================== the run


class Batch:
    """A prepared run: inputs and output checked, files counted (``total``, ``missing_ids``:
    files with no ids entry, by path or by SOPInstanceUID).

    :meth:`results` runs it, streaming one :class:`FileResult` per file in
    input order and keeping ``summary`` up to date; iterate it to the end
    (or close it) so that the manifest is completed and the workers stop.
    """

    def __init__(self, job: Job):
        from .naming import LAYOUTS

        options = job.options
        if options.layout not in LAYOUTS:
            raise BatchError(f"unknown output layout '{options.layout}': expected one of {', '.join(LAYOUTS)}")
        if options.key is None:  # output names and the manifest's input keys use the recipe's key
            job = attrs.evolve(job, options=attrs.evolve(options, key=_run_key(job.programs)))
        self.job = job
        self.key = job.options.key
        self.layout = job.options.layout
        self.roots = roots(job.inputs)
        check_output(job.output, self.roots)
        self.output = os.path.abspath(job.output)
        try:
            tables_runs.check_linkage(job.linkage, self.output)  # never inside the output folder
        except DeidlangError as err:
            raise BatchError(str(err)) from None
        self.linkage: tables_runs.Linkage | None = None  # the open linkage file, while results() runs
        self.index = {os.path.normpath(k): v for k, v in job.ids.items()} if job.ids is not None else None
        self.names: NameFlags | None = None  # the mirror layout: what the first pass found (scan_names)
        self.total = 0
        self.missing_ids = 0
        #: files matched to their ids entry by SOPInstanceUID (not by path): digest of the source -> key
        self.uid_matches: dict[int, str] = {}
        if self.index is not None:  # the whole plan, to count the files without ids
            by_uid = ids_by_uid(self.index)
            for task in self._planned():
                self.total += 1
                if task.ids_key == "" and by_uid and not task.refused and not is_url(task.source):
                    key = by_uid.get(read_sop_instance_uid(task.source, force=job.options.force) or "")
                    if key is not None:
                        self.uid_matches[path_digest(task.source)] = key
                        continue
                self.missing_ids += task.ids_key == ""
        else:  # a count is enough (for the progress bar and the batch size)
            out_real = os.path.realpath(job.output)
            self.total = sum(1 for root in self.roots for _ in walk_real(root, out_real))
        self.summary = Summary(clean_pixels=job.options.clean_pixels, layout=self.layout)
        self.manifest: Manifest | None = None
        self._claims: _Claims | None = None  # the dicom layout: output names taken so far

    def _planned(self) -> Iterator[Task]:
        return plan(
            self.roots,
            self.job.output,
            self.index,
            quarantine=self.job.options.holds or tables_runs.quarantines(self.job.options),
            layout=self.layout,
            key=self.key,
            flags=self.names,
        )

    def scan_names(self, executor: Executor | None = None, size: int | None = None) -> NameFlags | None:
        """The mirror layout's first pass: read every input's header and note which names
        on its output path (its input's folder, the folders below, its own name) hold an
        identifying value of it (:func:`deidlang.engine.naming.flags`). A folder is renamed when
        any file below it says so, so the files of one folder stay together whatever the
        order, the number of workers or an interruption. A file that cannot be read has its
        own name replaced (it fails later, unless it was a passing fault). Done once;
        ``None`` for the other layouts."""
        if self.layout != "mirror" or self.names is not None:
            return self.names
        own = executor is None
        if executor is None:
            executor = InProcess(Worker(self.job.programs, self.job.funcs, self.job.options))
        found = NameFlags()
        tasks = (
            Task(source, "", "", root=n, relative=rel, scan=True, names=tuple(mirror_names(root, rel)))
            for n, root, source, rel in input_files(self.roots, self.job.output)
            if confined(os.path.join(root.prefix, rel) if root.prefix else rel)
        )
        try:
            for chunk in ordered(executor, tasks, size or batch_size(self.total, 1)):
                for result in chunk:
                    names = mirror_names(self.roots[result.root], result.relative)
                    found.add(result.root, names, result.flags if result.status == "scanned" else (len(names) - 1,))
        finally:
            if own:
                executor.close()
        self.names = found
        return found

    def _plan(self) -> Iterator[Task]:
        """The planned files with the ids entries found by SOPInstanceUID; with
        ``require_ids``, a file without an entry is refused (fails, not written)."""
        for task in self._planned():
            if task.ids_key == "":
                key = self.uid_matches.get(path_digest(task.source)) if self.uid_matches else None
                if key is not None:
                    task = attrs.evolve(task, ids_key=key)
                elif self.job.require_ids and not task.refused:
                    task = attrs.evolve(task, refused=NO_IDS_ENTRY)
            yield task

    def tasks(self) -> Iterator[Task]:
        """The planned files with their own ids (``Task.ids``), for callers that process
        files themselves (``deidc run --dry-run``). Under the dicom layout the target is
        the name the file would get (the recipes are applied in memory to know it)."""
        self.scan_names()
        worker = Worker(self.job.programs, self.job.funcs, attrs.evolve(self.job.options, verify=False), self.index) if self.layout == "dicom" else None
        claims = _Claims(self.output, None, overwrite=True, disk=False) if worker is not None else None
        for task in self._plan():
            if task.ids_key is not None:
                found = self.index.get(task.ids_key) if (self.index is not None and task.ids_key) else None
                task = attrs.evolve(task, ids=found if found is not None else {})
            if worker is not None and not task.refused:
                named = worker.name(task)
                if named:
                    task = attrs.evolve(task, target=claims.name(named))  # type: ignore[union-attr, arg-type]  # made with the worker; it names it
            yield task

    def _executor_name(self) -> str:
        if self.job.scheduler:
            return f"dask {self.job.scheduler}"
        return f"local, {self.workers()} process{'es' if self.workers() > 1 else ''}"

    def workers(self) -> int:
        size = batch_size(self.total, self.job.jobs)
        return max(1, min(self.job.jobs, math.ceil(self.total / size) if self.total else 1))

    def _decide(self, task: Task) -> Task | FileResult:
        """Done here, without a worker: outputs an earlier run of this job completed.
        Outputs an earlier, different run wrote may be replaced."""
        if task.refused:
            return FileResult(task.display, "failed", task.refused, root=task.root, relative=task.relative)
        manifest = self.manifest
        if manifest is None or not manifest.previous:
            return task
        resume = manifest.resuming(self.job.options.overwrite)
        if self.layout == "dicom":  # the target is not known yet: this input's output of the earlier run
            from .naming import input_key

            ikey = input_key(self.key, task.relative)
            earlier = manifest.output_of(task.root, ikey)
            if earlier is not None and resume:
                path = os.path.join(self.output, *earlier.split("/"))
                mine = manifest.holder(path) == source_digest(task.root, ikey)
                if mine and manifest.state(path, task.source) == "complete":
                    return _completed_before(task, path)
            return task
        replace = {}
        for name, place in (("target", task.target), ("quarantine", task.quarantine)):
            if place is None:
                continue
            state = manifest.state(place, task.source)
            if state == "complete" and resume:
                return _completed_before(task, place)
            replace[name] = state in ("stale", "complete")
        if replace.get("target") or replace.get("quarantine"):
            return attrs.evolve(task, replace_target=replace.get("target", False), replace_quarantine=replace.get("quarantine", False))
        return task

    def _executor(self) -> Executor:
        job = self.job
        if job.scheduler:
            from . import distributed

            return distributed.executor(job, self.index)
        workers = self.workers()
        if workers <= 1 or self.total <= 1:
            return InProcess(Worker(job.programs, job.funcs, job.options, self.index))
        return Pool(job, workers, self.index)

    def results(self) -> Iterator[FileResult]:
        job = self.job
        if job.manifest:
            self.manifest = Manifest(
                self.output,
                manifest_header(job, self.roots, self._executor_name()),
                durable=job.options.durable,
                by_input=self.layout == "dicom",
            )
            try:
                os.makedirs(self.output, exist_ok=True)
            except OSError as err:
                raise WriteError.of(err, self.output, "the output folder") from None
            self.manifest.open()
        try:
            self.linkage = tables_runs.open_linkage(job.linkage, self.output, durable=job.options.durable)
        except DeidlangError as err:
            raise BatchError(str(err)) from None
        executor = self._executor()
        size = batch_size(self.total, job.jobs if not job.scheduler else getattr(executor, "workers", job.jobs))
        if self.layout == "dicom":
            self._claims = _Claims(self.output, self.manifest, overwrite=job.options.overwrite)
        complete = False
        try:
            self.scan_names(executor, size)
            kill_after = int(os.environ.get("DEIDLANG_TEST_KILL_AFTER") or 0)  # tests only: see _test_hook
            for chunk in ordered(executor, (self._decide(t) for t in self._plan()), size):
                for result in self._finalize(chunk):
                    self.summary.add(result)
                    if kill_after and self.summary.files >= kill_after:
                        os.kill(os.getpid(), signal.SIGKILL)  # an interruption at a known point, for the resume tests
                    yield result
            complete = True
        finally:
            executor.close(cancel=not complete)
            if self.linkage is not None:
                self.linkage.close()
            if self.names is not None:
                self.summary.renamed_folders, self.summary.renamed_files = self.names.folders, self.names.files
            if not complete:
                remove_temporaries(self.output)
            if self.manifest is not None:
                try:
                    self.manifest.finish(self.summary, complete=complete)
                except OSError as err:
                    if complete:
                        raise WriteError.of(err, self.manifest.path, "the run manifest") from None
                    # stopping already (that error is the one reported); the header stays incomplete

    def _finalize(self, chunk: list[FileResult]) -> list[FileResult]:
        """Record a batch of files in the manifest (one write), then rename their temporary
        files into place: an interruption in between leaves records whose outputs are
        missing (redone on resuming), never outputs without records. Under the dicom
        layout each output's name is settled here first, in input order (:class:`_Claims`)."""
        from .naming import input_key

        chunk = [attrs.evolve(r, input_key=input_key(self.key, r.relative)) if r.relative else r for r in chunk]
        if self._claims is not None:
            chunk = [self._settle(r) for r in chunk]
        tables_runs.write_linkage(self.linkage, chunk)  # before the records: a stopped run redoes these files
        if self.manifest is not None:
            self.manifest.record_many([r for r in chunk if not r.resumed])
        out: list[FileResult] = []
        lost: list[FileResult] = []
        for result in chunk:
            if result.tmp:
                try:
                    os.replace(result.tmp, result.output)
                    result = attrs.evolve(result, tmp="")
                except OSError as err:
                    remove_quietly(result.tmp)
                    result = attrs.evolve(
                        result,
                        status="failed",
                        reason=f"cannot write '{result.output}': {describe(err)}",
                        tmp="",
                        output_sha256="",
                        output_size=-1,
                        output_mtime_ns=None,
                    )
                    lost.append(result)
            out.append(result)
        if lost and self.manifest is not None:
            self.manifest.record_many(lost)  # the later record of an output is the one that counts
        if self.job.options.durable:
            for folder in {os.path.dirname(r.output) for r in chunk if r.tmp and r.output}:
                try:
                    fsync_directory(folder)  # the renames on the disk (best effort: they are redone if lost)
                except OSError:
                    pass
        return out

    def _settle(self, result: FileResult) -> FileResult:
        """The dicom layout: the name a worker's output settles on (see :class:`_Claims`);
        counts the names that were replaced by pseudonyms."""
        claims = self._claims
        assert claims is not None
        if result.resumed and result.output:
            claims.claim(result.output)
            return result
        if not result.tmp:
            return result
        source = source_digest(result.root, result.input_key)
        try:
            final = claims.name(result.output, source)
        except OutputError as err:
            remove_quietly(result.tmp)
            return attrs.evolve(result, status="failed", reason=str(err), tmp="", output="", output_sha256="", output_size=-1, output_mtime_ns=None)
        reason = "the output exists" if final is None else ""
        root = self.roots[result.root]
        if final is not None and not root.url and os.path.lexists(final):
            try:
                if os.path.samefile(_task_source(root, result.relative), final):
                    reason = "the output would overwrite the input"
            except OSError:
                pass
        if reason:
            remove_quietly(result.tmp)
            return attrs.evolve(
                result,
                status="skipped" if final is None else "failed",
                reason=reason,
                tmp="",
                output=result.output if final is None else "",
                output_sha256="",
                output_size=-1,
                output_mtime_ns=None,
                renamed=(),
            )
        if result.renamed:
            from .naming import DICOM_LEVELS

            last = len(DICOM_LEVELS) - 1
            self.summary.renamed_files += last in result.renamed
            self.summary.renamed_folders += claims.count_folders(final, [i for i in result.renamed if i != last])  # type: ignore[arg-type]  # a name: no reason above
        return attrs.evolve(result, output=final)  # type: ignore[arg-type]  # as above


def _completed_before(task: Task, output: str) -> FileResult:
    """An input whose output an earlier run of the same job completed: skipped, not redone."""
    return FileResult(
        task.display,
        "skipped",
        "complete in the manifest of an earlier run of the same job",
        output=output,
        resumed=True,
        root=task.root,
        relative=task.relative,
    )


def _task_source(root: Root, relative: str) -> str:
    """The local path of an input from its root and relative path."""
    return os.path.join(root.path, relative) if root.is_dir else root.path


def _run_key(programs: Sequence):
    """The key of a run's output names and input keys: the one bound to the recipes' keyed
    built-ins, else the default key (:func:`deidlang.runtime.keys.default_key`)."""
    from ..runtime import keys as runtime_keys

    for program in programs:
        for step in getattr(program, "steps", ()):
            key = getattr(getattr(step, "value", None), "key", None)
            if isinstance(key, runtime_keys.Key):
                return key
    try:
        return runtime_keys.default_key()[0]
    except runtime_keys.MissingKey as err:
        raise BatchError(f"output names need a key: {err}") from None


class _Claims:
    """The dicom layout's output names, settled by the main process in input order, so
    that they do not depend on the number of workers.

    A folder keeps the spelling it first had in the run (another spelling that differs
    only in case gets ``-2``: the same names on file systems that ignore case and on
    those that do not); a file name taken in this run, or on the disk by an output of
    another input (the manifest says whose an output is), gets ``-2``, ``-3``...; a file
    this tool did not write is kept unless ``overwrite`` (the name is then skipped).
    What is kept per name is a 64-bit digest."""

    def __init__(self, output: str, manifest: "Manifest | None", *, overwrite: bool, disk: bool = True):
        self.output = output
        self.manifest = manifest
        self.overwrite = overwrite
        self.disk = disk
        self.taken = DigestSet((path_digest(MANIFEST.lower()), path_digest(MANIFEST_RECORDS.lower())))
        self.folders: dict[int, int] = {}  # digest of the lower-cased path -> digest of its first spelling
        self.counted = DigestSet()

    def folder(self, head: str) -> str:
        out: list[str] = []
        for part in head.split(os.sep) if head else ():
            n = 1
            while True:
                candidate = part if n == 1 else f"{part}-{n}"
                path = os.path.join(*out, candidate)
                low, exact = path_digest(path.lower()), path_digest(path)
                first = self.folders.setdefault(low, exact)
                if first == exact:
                    break
                n += 1
            out.append(candidate)
        return os.path.join(*out) if out else ""

    def claim(self, path: str) -> None:
        """An output already there (resumed): its folder spellings and name are taken."""
        rel = os.path.relpath(path, self.output)
        head, name = os.path.split(rel)
        self.taken.add(path_digest(os.path.join(self.folder(head), name).lower()))

    def name(self, path: str, source: int = 0) -> str | None:
        """Where the output a worker wrote for ``path`` goes (absolute); None when a file
        that is not this tool's holds the name and ``overwrite`` is off. Raises
        :class:`OutputError` when its folder cannot be made."""
        rel = os.path.relpath(path, self.output)
        head, name = os.path.split(rel)
        head = self.folder(head)
        stem, ext = os.path.splitext(name)
        n = 1
        while True:
            candidate = os.path.join(head, name if n == 1 else f"{stem}-{n}{ext}")
            key = path_digest(candidate.lower())
            if key not in self.taken:
                full = os.path.join(self.output, candidate)
                if not self.disk or not os.path.lexists(full):
                    break
                holder = self.manifest.holder(full) if self.manifest is not None else None
                if holder is None:  # not written by this tool (or changed since)
                    if self.overwrite:
                        break
                    return None
                if holder == source:  # this input's own earlier output
                    break
            n += 1
        self.taken.add(key)
        final = os.path.join(self.output, candidate)
        if self.disk:  # the worker wrote to the output folder itself (write_output's staging)
            try:
                make_folders(self.output, os.path.dirname(final))
            except OSError as err:
                if errno_of(err) in FATAL_ERRNOS:  # disk full, read-only: every later file would fail too
                    raise WriteError.of(err, os.path.dirname(final)) from None
                raise OutputError(f"cannot make the folder of '{candidate}': {describe(err)}") from None
        return final

    def count_folders(self, final: str, levels: Sequence[int]) -> int:
        """How many of the folders at ``levels`` (of the layout's names, at the end of
        ``final``'s path) were not counted yet."""
        from .naming import DICOM_LEVELS

        parts = os.path.relpath(final, self.output).split(os.sep)
        offset = len(parts) - len(DICOM_LEVELS)
        new = 0
        for i in levels:
            key = path_digest(os.sep.join(parts[: offset + i + 1]))
            if key not in self.counted:
                self.counted.add(key)
                new += 1
        return new


def prepare(job: Job) -> Batch:
    """Check the job's inputs and output and count its files (raises :class:`BatchError`)."""
    return Batch(job)


def run(job: Job) -> Iterator[FileResult]:
    """Run ``job``: one :class:`FileResult` per file, in input order."""
    return prepare(job).results()


def execute(
    tasks: Sequence[Task],
    programs: Sequence,
    funcs: Mapping[str, Callable] | None,
    functions_path: str | None,
    options: Options,
    jobs: int,
    *,
    start_method: str | None = None,
) -> Iterator[FileResult]:
    """Process given tasks (no planning, no manifest): results in task order, outputs in place."""
    job = Job(
        tuple(programs),
        options.output or os.getcwd(),
        funcs=funcs,
        functions_path=functions_path,
        options=options,
        jobs=jobs,
        manifest=False,
        start_method=start_method,
    )
    size = batch_size(len(tasks), jobs)
    workers = min(jobs, math.ceil(len(tasks) / size) if tasks else 1)
    executor: Executor = Pool(job, workers, None) if workers > 1 and len(tasks) > 1 else InProcess(Worker(programs, funcs, options))
    complete = False
    try:
        for chunk in ordered(executor, tasks, size):
            for result in chunk:
                if result.tmp:
                    os.replace(result.tmp, result.output)
                    result = attrs.evolve(result, tmp="")
                yield result
        complete = True
    finally:
        executor.close(cancel=not complete)
