"""Command line: ``helpapi index build|stats|pack|unpack``, ``helpapi corpus check``,
``helpapi insights rollup`` and ``helpapi search``.

Settings come from defaults, then ``HELPAPI_*`` variables, then these options.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

# Only what ``index build`` needs is imported here: the build's pool workers are spawned
# interpreters that import this module again as the main script's (``helpapi``'s console
# script), so Flask, the search engine and sqlite3 would be loaded in each of them for
# nothing. The other commands import theirs when they run.
from . import generations
from . import jobs as build_jobs
from .config import SettingsError
from .config import load_settings
from .content import CorpusCheck
from .content import IndexCoverage
from .content import check_corpus
from .content import index_coverage
from .indexer import BuildError
from .indexer import build_indexes
from .indexer import non_locale_folders
from .lease import LeaseLost


def _settings(**overrides) -> dict:
    """Settings for a command: the Flask app's when run as ``flask index ...``, else loaded."""
    try:
        app = _flask_app()
        if app is not None:
            base = dict(app.config)
            base.update({k: v for k, v in overrides.items() if v is not None})
            return base
        return load_settings(overrides=overrides)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc


def _flask_app():
    """The Flask app when the command runs under ``flask`` (its config wins), else None."""
    if "flask" not in sys.modules:  # neither an app context nor ``flask``'s CLI without it
        return None
    from flask import current_app
    from flask import has_app_context
    from flask.cli import ScriptInfo

    if has_app_context():
        return current_app
    ctx = click.get_current_context(silent=True)
    info = ctx.find_object(ScriptInfo) if ctx else None
    return info.load_app() if info is not None else None


class _Progress:
    """One line redrawn in place on a terminal; a line per finished locale otherwise."""

    def __init__(self, stream):
        self.stream = stream
        self.tty = stream.isatty()
        self.state: dict[str, tuple[int, int]] = {}
        self.started = time.perf_counter()

    def __call__(self, locale: str, done: int, total: int) -> None:
        self.state[locale] = (done, total)
        if self.tty:
            done_all = sum(d for d, _ in self.state.values())
            total_all = sum(t for _, t in self.state.values())
            width = 30
            filled = int(width * done_all / max(total_all, 1))
            line = (
                f"\r[{'#' * filled}{'.' * (width - filled)}] {done_all}/{total_all} files "
                f"{len(self.state)} locales {time.perf_counter() - self.started:.0f}s"
            )
            self.stream.write(line)
            self.stream.flush()
        elif done == total:
            self.stream.write(f"{locale}: {total} files read\n")

    def close(self):
        if self.tty and self.state:
            self.stream.write("\n")


@click.group()
def main():
    """helpapi: multilingual help-article search."""


@main.group()
def index():
    """Build and inspect the per-locale indexes."""


@index.command("build")
@click.option(
    "--corpus",
    "corpus_dir",
    type=click.Path(file_okay=False),
    help="Corpus folder (<locale>/**/*.md). Env: HELPAPI_CORPUS_DIR.",
)
@click.option(
    "--index",
    "index_dir",
    type=click.Path(file_okay=False),
    help="Index folder. Env: HELPAPI_INDEX_DIR.",
)
@click.option(
    "--locales",
    help="Comma list of locales to rebuild (en-US included); "
    "others are carried over. Default: all.",
)
@click.option(
    "--jobs",
    type=click.IntRange(0, 256),
    help="Parallel builds; 0 = one per core. Env: HELPAPI_BUILD_JOBS.",
)
@click.option(
    "--incremental",
    is_flag=True,
    help="Rebuild only locales whose files changed since the serving generation.",
)
def build_cmd(corpus_dir, index_dir, locales, jobs, incremental):
    """Build every locale's index into a new generation and switch to it atomically."""
    s = _settings(CORPUS_DIR=corpus_dir, INDEX_DIR=index_dir, BUILD_JOBS=jobs)
    wanted = [x.strip() for x in locales.split(",") if x.strip()] if locales else None
    progress = _Progress(sys.stderr)
    try:
        # The same build lease as a reindex job: one build at a time across every instance
        # that shares this index folder (README "Replicas on a shared volume").
        with build_jobs.cli_build_lease(s["INDEX_DIR"], s["CORPUS_DIR"], s["BUILD_JOBS"]) as fence:
            report = build_indexes(
                s["CORPUS_DIR"],
                s["INDEX_DIR"],
                wanted,
                s["BUILD_JOBS"] or None,
                progress,
                incremental=incremental,
                max_article_bytes=s["MAX_ARTICLE_BYTES"],
                source_locale=s["SOURCE_LOCALE"],
                before_switch=fence,
            )
    except BuildError as exc:
        raise click.ClickException(str(exc)) from exc
    except build_jobs.JobRunning as running:
        job = running.job
        raise click.ClickException(
            f"another build holds the build lease of {s['INDEX_DIR']}: {job['id']}"
            f" ({job['status']}); wait for it (GET /v1/admin/reindex/{job['id']}) and run"
            " this again"
        ) from None
    except LeaseLost as exc:
        raise click.ClickException(
            f"build abandoned before its switch, the serving generation is unchanged: {exc}"
        ) from None
    finally:
        progress.close()
    if not report.switched:
        click.echo(f"no changes since generation {report.generation} ({report.seconds:.1f}s)")
        return
    click.echo(f"generation {report.generation} in {report.index_dir} ({report.seconds:.1f}s)")
    click.echo(
        f"{'locale':8} {'articles':>8} {'repaired':>8} {'rejected':>8} {'terms':>7} "
        f"{'size':>8} {'seconds':>7}"
    )
    for loc, st in report.locales.items():
        click.echo(
            f"{loc:8} {st.articles:8} {st.repaired:8} {st.rejected:8} {st.terms:7} "
            f"{st.size_bytes / 1e6:7.1f}M {st.seconds:7.1f}"
        )
    t = report.totals
    click.echo(
        f"files: {t['parsed'] + t['rejected']} read, {t['parsed']} parsed, "
        f"{t['repaired']} repaired, {t['rejected']} rejected"
    )
    for st in report.locales.values():
        for path, reason in st.errors:
            click.echo(f"rejected {path}: {reason}", err=True)
    # Not indexed, and easy to miss: "german/" beside "en-US/" (a tag like de-DE was meant).
    for name in non_locale_folders(Path(s["CORPUS_DIR"])):
        click.echo(f"skipped {Path(s['CORPUS_DIR']) / name}: not a BCP 47 locale tag", err=True)


@index.command("stats")
@click.option("--index", "index_dir", type=click.Path(file_okay=False), help="Index folder.")
@click.option(
    "--slugs",
    type=click.IntRange(0, 100000),
    default=0,
    show_default=True,
    help="Also list up to N missing and N outdated slugs per locale.",
)
def stats_cmd(index_dir, slugs):
    """Show the serving generation and its per-locale counts."""
    s = _settings(INDEX_DIR=index_dir)
    name = generations.current_generation(Path(s["INDEX_DIR"]))
    if name is None:
        raise click.ClickException(f"no index in {s['INDEX_DIR']}; run: helpapi index build")
    meta = generations.read_meta(Path(s["INDEX_DIR"]) / name)
    click.echo(f"generation {name} built {meta['built_at']} from {meta['corpus_dir']}")
    for loc, info in sorted(meta["locales"].items()):
        click.echo(
            f"{loc:8} {info['articles']:6} articles {info['terms']:7} terms "
            f"{info['size_bytes'] / 1e6:6.1f}M  repaired {info['repaired']} "
            f"rejected {info['rejected']}"
        )
    _echo_coverage(index_coverage(meta), slugs)


def _echo_coverage(cov: IndexCoverage, slugs: int) -> None:
    """The translation coverage table (and up to ``slugs`` missing/outdated slugs a locale)."""
    click.echo("")
    if cov.problem:
        click.echo(f"translation coverage: not available ({cov.problem}; rebuild the index)")
        return
    click.echo(
        f"translation coverage against {cov.sources} English articles "
        f"({cov.from_folder} from the source folder, "
        f"{cov.sources - cov.from_folder} from sxs English):"
    )
    click.echo(
        f"{'locale':8} {'articles':>8} {'linked':>7} {'missing':>7} {'no src':>7} "
        f"{'outdated':>8} {'unknown':>8}"
    )
    for c in cov.locales:
        click.echo(
            f"{c.locale:8} {c.articles:8} {c.linked:7} {len(c.missing):7} "
            f"{len(c.no_source):7} {len(c.outdated):8} {c.undated + c.inline:8}"
        )
    click.echo(
        "outdated: the source's date (ms.date, updated, date) is later than the translation's"
    )
    click.echo(
        "unknown: linked, but whether it is outdated cannot be told "
        "(no date on either side, or English inline in an sxs file)"
    )
    for c in cov.locales if slugs else ():
        for slug in c.missing[:slugs]:
            click.echo(f"{c.locale} missing {slug}")
        for slug, source, mine, theirs in c.outdated[:slugs]:
            click.echo(f"{c.locale} outdated {slug} ({mine}; source {source} {theirs})")


@main.group()
def corpus():
    """Check the corpus folder before building."""


@corpus.command("check")
@click.option(
    "--corpus",
    "corpus_dir",
    # Not click.Path(file_okay=False): a file given here is reported like any unusable
    # corpus (a message naming it, the JSON shape kept), not as a usage error.
    help="Corpus folder (<locale>/**/*.md|html). Env: HELPAPI_CORPUS_DIR.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check_cmd(corpus_dir, as_json):
    """Report per locale: formats, missing and unlinked translations, duplicate ids, failures.

    Exits 1 when there are errors (files that fail, slug conflicts, folders that are not
    locale tags, an unusable corpus folder); duplicate ids are warnings.
    """
    s = _settings(CORPUS_DIR=corpus_dir)
    report = check_corpus(s["CORPUS_DIR"], s["SOURCE_LOCALE"], s["MAX_ARTICLE_BYTES"])
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        _echo_check(report)
    if report.errors:
        sys.exit(1)


_LIST_LINES = 20  # coverage lines per locale on a terminal


def _echo_check(report: CorpusCheck) -> None:
    if report.error:
        click.echo(f"error: {report.error}", err=True)
        return
    where = (
        f"source folder {report.source_locale}/"
        if report.has_source_folder
        else f"no {report.source_locale}/ folder: the source is the English of sxs files"
    )
    click.echo(f"corpus {report.corpus} ({where})")
    click.echo(
        f"{'locale':8} {'sxs':>5} {'md':>5} {'html':>5} {'failed':>6} {'conflict':>8} "
        f"{'dup ids':>7} {'missing':>7} {'no src':>6} {'outdated':>8}"
    )
    for c in report.locales:
        cov = c.coverage
        tail = (
            f"{len(cov.missing):7} {len(cov.no_source):6} {len(cov.outdated):8}"
            if cov
            else f"{'source':>7} {'-':>6} {'-':>8}"
        )
        click.echo(
            f"{c.locale:8} {c.formats['sxs']:5} {c.formats['markdown']:5} {c.formats['html']:5} "
            f"{len(c.failed):6} {len(c.conflicts):8} {len(c.duplicates):7} {tail}"
        )
    for path, reason in report.bad_folders:
        click.echo(f"error: folder {path}: {reason}")
    for path, line, reason in report.config:
        click.echo(f"error: {path}" + (f", line {line}" if line else "") + f": {reason}")
    for c in report.locales:
        for path, reason in c.failed:
            click.echo(f"error: {path}: {reason}")
        for slug, files in c.conflicts:
            click.echo(
                f"error: {c.locale}: slug {slug!r} is in {len(files)} files: {', '.join(files)} "
                f"({files[0]} is indexed)"
            )
    for c in report.locales:
        for assetid, slugs in c.duplicates:
            click.echo(f"warning: {c.locale}: id {assetid} is claimed by {', '.join(slugs)}")
    for c in report.locales:
        cov = c.coverage
        if cov is None:
            continue
        lines = [
            *(f"missing: {c.locale}: {slug}" for slug in cov.missing),
            *(f"no source: {c.locale}/{slug}" for slug in cov.no_source),
            *(
                f"outdated: {c.locale}/{slug} ({mine}) < {source} ({theirs})"
                for slug, source, mine, theirs in cov.outdated
            ),
        ]
        # A large corpus can miss thousands per locale: a terminal gets the first ones.
        for line in lines[:_LIST_LINES]:
            click.echo(line)
        if len(lines) > _LIST_LINES:
            click.echo(f"… {len(lines) - _LIST_LINES} more for {c.locale} (--json lists them all)")
    repaired = sum(len(c.repaired) for c in report.locales)
    click.echo(
        f"{report.errors} errors, {report.warnings} warnings, {repaired} files repaired "
        "while parsing (--json lists them)"
    )


@index.command("pack")
@click.option("--index", "index_dir", type=click.Path(file_okay=False), help="Index folder.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Archive to write. Default: helpapi-index-<generation>.tar.gz here.",
)
def pack_cmd(index_dir, out):
    """Write the serving generation as one verified .tar.gz (manifest + sha256 per file)."""
    from . import pack

    s = _settings(INDEX_DIR=index_dir)
    try:
        r = pack.pack_generation(Path(s["INDEX_DIR"]), Path(out) if out else None)
    except pack.PackError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot write {out or 'the archive'}: {exc}") from exc
    click.echo(
        f"generation {r.generation}: {r.files} files, {r.bytes_in / 1e6:.1f} MB "
        f"-> {r.path} ({r.bytes_out / 1e6:.1f} MB, {r.seconds:.1f}s)"
    )


@index.command("unpack")
@click.argument("archive", type=click.Path(dir_okay=False))
@click.option("--index", "index_dir", type=click.Path(file_okay=False), help="Index folder.")
def unpack_cmd(archive, index_dir):
    """Verify ARCHIVE (from index pack), install its generation and switch to it atomically.

    A truncated, corrupt or unsafe archive is refused and changes nothing.
    """
    from . import pack

    s = _settings(INDEX_DIR=index_dir)
    try:
        r = pack.unpack_generation(Path(archive), Path(s["INDEX_DIR"]))
    except pack.UnpackError as exc:
        raise click.ClickException(f"refused {archive}: {exc}; nothing changed") from exc
    except OSError as exc:
        raise click.ClickException(f"cannot unpack into {s['INDEX_DIR']}: {exc}") from exc
    note = " (already installed)" if r.already_present else ""
    click.echo(
        f"serving generation {r.generation}{note} in {r.index_dir}: {r.files} files, "
        f"{r.bytes / 1e6:.1f} MB verified ({r.seconds:.1f}s); previous: {r.previous or 'none'}"
    )


@main.group()
def insights():
    """The search insights' analytics database."""


@insights.command("rollup")
@click.option("--index", "index_dir", type=click.Path(file_okay=False), help="Index folder.")
@click.option(
    "--db",
    type=click.Path(dir_okay=False),
    help="Analytics file. Env: HELPAPI_ANALYTICS_DB; default <index>/analytics.sqlite3.",
)
def rollup_cmd(index_dir, db):
    """Bring the insights rollup up to date now, with no time budget.

    Insights requests do this themselves within half of their 10 s budget; over a big existing
    database the first build takes minutes, so run this once after an upgrade (the service can
    keep running: it writes in short transactions).
    """
    import sqlite3

    from . import rollup
    from .analytics import connect
    from .analytics import default_db_path

    s = _settings(INDEX_DIR=index_dir)
    path = Path(db or s.get("ANALYTICS_DB") or default_db_path(s["INDEX_DIR"]))
    if not path.is_file():
        raise click.ClickException(f"no analytics database at {path}")
    try:
        conn = connect(path)
        try:
            stats = rollup.refresh(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:  # a damaged file, or another kind of file
        raise click.ClickException(f"{path} is not an analytics database: {exc}") from exc
    if not stats["marked"] and not stats["recomputed"] and not stats["days_merged"]:
        click.echo(f"{path}: the rollup is up to date")
        return
    click.echo(
        f"{path}: {stats['marked']} hours marked, {stats['recomputed']} hours recomputed,"
        f" {stats['days_merged']} days merged, {stats['dirty']} left dirty"
        f" in {stats['seconds']:.1f} s"
    )


@main.command("search")
@click.argument("text")
@click.option("--locale", default="en-US", show_default=True, help="Locale to search.")
@click.option("--limit", type=click.IntRange(1, 50), default=5, show_default=True)
@click.option("--prefix", is_flag=True, help="Treat the last word as still being typed.")
@click.option("--index", "index_dir", type=click.Path(file_okay=False), help="Index folder.")
def search_cmd(text, locale, limit, prefix, index_dir):
    """Print the top hits for TEXT, to check an index without the web service."""
    from .locales import BadLocale
    from .locales import resolve_locale
    from .search import NoIndex
    from .search import open_current
    from .search import search

    s = _settings(INDEX_DIR=index_dir)
    try:
        ixset = open_current(Path(s["INDEX_DIR"]))
    except NoIndex as exc:
        raise click.ClickException(str(exc)) from exc
    with ixset:  # closes the searchers' open segment files
        try:
            resolved = resolve_locale(locale, None, ixset.locales, s["DEFAULT_LOCALE"])
        except BadLocale:
            raise click.BadParameter(
                f"{locale!r} is not a language tag like de-DE", param_hint="--locale"
            ) from None
        ans = search(ixset, text, resolved.locale, limit=limit, prefix=prefix)
    note = " (English fallback)" if ans["fallback"] or resolved.unmatched else ""
    click.echo(f"{ans['total']} hits in {ans['locale']}{note}")
    if ans["corrected"] is not None:
        click.echo(f"Showing results for: {ans['corrected']}")
    for i, hit in enumerate(ans["results"], 1):
        click.echo(f"{i:2}. [{hit['score']:.2f}] {hit['title']}  ({hit['id']})")
        click.echo(f"    {hit['snippet']}")


if __name__ == "__main__":
    main()
