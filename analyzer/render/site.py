"""A report folder: ``index.html`` and one page per run, each self-contained and offline.

``dlreport analyze ROOT -o report_dir/`` writes::

    report_dir/index.html             the run table (sortable without script) and the cross-run
                                      section; each run links to its page
    report_dir/runs/<file>.html       one run, linking back to ../index.html

A run's page is rendered in the worker that analysed the run (the ``per_run`` hook of
:func:`analyzer.pipeline.build_analysis`, which the caller runs: :func:`write_site` gets it as a
function and never imports the pipeline) and written here as soon as it comes back, so memory
holds only the runs in flight, never the charts of every run. The one part of a page that
depends on the other runs is its advice (cross-run evidence can add to it, once every run is
in): the worker marks those parts, and :meth:`SiteWriter.finish` redoes them in the pages whose
advice changed.

File names come from run names, which come from directory names anyone can choose: they are
made of ``[a-z0-9._-]`` only, bounded in length, and carry a hash of the exact name, so no name
can reach outside the folder (``..``, ``/``, an absolute path), and two names differing only in
case or in characters dropped from the file name still get two files.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol, TypeVar

from .. import __version__
from ..errors import OutputError
from ..model import Advice, Report, RunReport
from .html import PageMeta, render_index, render_run_page, replace_advice
from .safetext import encodable

RUNS_DIR = "runs"
INDEX = "index.html"
MAX_SLUG = 60  # characters of the run name kept in its file name (the hash tells them apart)
HASH_CHARS = 10  # 40 bits of SHA-256: a clash needs ~10^6 runs, and is then resolved anyway
# Every file name written, whatever the run name; checked again before each write.
SAFE_FILE = re.compile(r"[a-z0-9][a-z0-9._-]{0,100}\.html")


class SiteError(OutputError):
    """The report folder cannot be written (a file in the way, a link leading outside)."""


def page_file(run_name: str) -> str:
    """The file name of a run's page: a readable slug of the name, then a hash of it.

    ``"sweep/lr0.1"`` gives ``"sweep-lr0.1-<hash>.html"``; ``"../../x"`` gives
    ``"x-<hash>.html"``; a name with nothing usable (``"."``, ``"日本"``) gives
    ``"run-<hash>.html"``.
    """
    # Accents dropped rather than the whole letter ("résumé" -> "resume"); the rest of
    # non-ASCII, "/", "\\", control characters and spaces all become "-".
    ascii_name = unicodedata.normalize("NFKD", run_name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9._-]+", "-", ascii_name.lower())
    slug = re.sub(r"\.{2,}", ".", slug)  # no ".." anywhere, even though "/" is gone
    slug = re.sub(r"-{2,}", "-", slug)
    # No leading dot (a hidden file) or dash (an option to a shell tool).
    slug = slug.strip("._-")[:MAX_SLUG].rstrip("._-") or "run"
    # surrogatepass: a name read from undecodable bytes holds lone surrogates.
    digest = hashlib.sha256(run_name.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]
    return f"{slug}-{digest}.html"


@dataclass
class PageNames:
    """Unique file names for the runs, as they arrive (case-insensitively unique, since some
    file systems are)."""

    taken: set[str] = field(default_factory=set)

    def __call__(self, run_name: str) -> str:
        """The file for ``run_name``: :func:`page_file`, numbered if (against odds) taken."""
        name = page_file(run_name)
        stem, n = name.removesuffix(".html"), 1
        while name.casefold() in self.taken:
            n += 1
            name = f"{stem}-{n}.html"
        self.taken.add(name.casefold())
        return name


@dataclass(frozen=True, slots=True)
class PageFile:
    """A run page written to disk, and the advice it shows (to tell if it must be redone)."""

    file: str  # relative to the output folder, with "/" (also the link from the index)
    advice: tuple[Advice, ...]


class SiteWriter:
    """Writes the run pages as they arrive, then the index (the ``receive`` of build_analysis)."""

    def __init__(self, out: Path) -> None:
        """Create ``out`` and ``out/runs`` (existing files are overwritten, others kept)."""
        self.out = out
        try:
            (out / RUNS_DIR).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SiteError(
                f"{out}: cannot create the report folder ({exc.strerror or exc})"
            ) from None
        self._root = out.resolve()
        self._names = PageNames()
        self.bytes = 0

    def _path(self, relative: str) -> Path:
        """``out/relative``, refusing anything that would land outside ``out``."""
        head, _, name = relative.rpartition("/")
        if head not in ("", RUNS_DIR) or not (name == INDEX or SAFE_FILE.fullmatch(name)):
            raise SiteError(f"refusing to write {relative!r}: not a report file name")
        path = self.out / relative
        # A symlink in the folder could still lead elsewhere: check where the file really goes.
        if not path.resolve().is_relative_to(self._root):
            raise SiteError(f"refusing to write {path}: it resolves outside {self.out}")
        return path

    def _write(self, relative: str, text: str) -> None:
        data = encodable(text).encode("utf-8")
        path = self._path(relative)
        try:
            path.write_bytes(data)
        except OSError as exc:
            raise SiteError(f"{path}: cannot write ({exc.strerror or exc})") from None
        self.bytes += len(data)

    def receive(self, report: RunReport, page: object) -> PageFile:
        """Write one run's page (the worker's rendered HTML) and keep only its file name."""
        if not isinstance(page, str):
            raise TypeError(f"expected a rendered page for {report.run!r}, got {type(page)}")
        relative = f"{RUNS_DIR}/{self._names(report.run)}"
        self._write(relative, page)
        return PageFile(file=relative, advice=report.advice)

    def finish(self, report: Report, pages: Mapping[str, object]) -> Path:
        """Redo the advice of pages that cross-run evidence changed, then write the index."""
        files: dict[str, str] = {}
        for r in report.runs:
            page = pages.get(r.run)
            if not isinstance(page, PageFile):
                continue
            files[r.run] = page.file
            if r.advice != page.advice:
                path = self._path(page.file)
                text = replace_advice(path.read_text(encoding="utf-8"), r)
                self.bytes -= path.stat().st_size
                self._write(page.file, text)
        self._write(INDEX, render_index(report, files))
        return self.out / INDEX


class AnalysisLike(Protocol):
    """What :func:`write_site` needs of the pipeline's result."""

    @property
    def report(self) -> Report: ...

    @property
    def extras(self) -> Mapping[str, object]: ...


A = TypeVar("A", bound=AnalysisLike)
PageHook = Callable[[RunReport, object], object]
# Runs the analysis with two hooks: ``per_run`` (in the worker: report, run -> page) and
# ``receive`` (here: report, page -> what to keep).
RunAnalysis = Callable[[PageHook, PageHook], A]


@dataclass(frozen=True, slots=True)
class Site:
    """A written report folder."""

    index: Path
    pages: Mapping[str, Path]  # run name -> its page
    bytes: int  # of every file written


def write_site(out: Path, run_analysis: RunAnalysis[A], *, generated_at: str) -> tuple[A, Site]:
    """Run the analysis with hooks that write ``out`` as it goes (see the module's docstring).

    ``run_analysis(per_run, receive)`` runs the pipeline with those two hooks; ``generated_at``
    is fixed before any worker starts, so that every page says the same time.
    """
    writer = SiteWriter(out)
    meta = PageMeta(generated_at=generated_at, tool_version=__version__)
    analysis = run_analysis(partial(render_run_page, meta=meta), writer.receive)
    index = writer.finish(analysis.report, analysis.extras)
    pages = {
        name: out / page.file
        for name, page in analysis.extras.items()
        if isinstance(page, PageFile)
    }
    return analysis, Site(index=index, pages=pages, bytes=writer.bytes)
