"""Shared fixtures: a real index of the bundled corpus, an app on it, a tiny hand-made corpus."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from whoosh.filedb.compound import CompoundStorage
from whoosh.filedb.filestore import FileStorage

from helpapi import analytics
from helpapi import create_app
from helpapi import generations
from helpapi import jobs
from helpapi.indexer import build_indexes
from helpapi.search import open_current
from helpapi.search import search

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(autouse=True)
def _scrub_env(monkeypatch):
    """Tests never see the developer's HELPAPI_* settings."""
    import os

    for key in list(os.environ):
        if key.startswith("HELPAPI_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory) -> Path:
    """The bundled sample corpus, indexed once per test session (read-only for tests)."""
    index_dir = tmp_path_factory.mktemp("index")
    build_indexes(CORPUS, index_dir, jobs=2)
    return index_dir


def md_article(title: str, body: str) -> str:
    """A Markdown article with ``title`` as its front-matter title and its heading."""
    return f"---\ntitle: {title}\n---\n# {title}\n\n{body}\n"


def index_markdown(tmp_path_factory, name: str, corpus: dict) -> Path:
    """``corpus`` ({locale: {slug: markdown}}) written as files and indexed: the index folder."""
    root = tmp_path_factory.mktemp(f"{name}-corpus")
    for locale, articles in corpus.items():
        (root / locale).mkdir()
        for slug, text in articles.items():
            (root / locale / f"{slug}.md").write_text(text, "utf-8")
    index = tmp_path_factory.mktemp(f"{name}-ix")
    build_indexes(root, index, jobs=1)
    return index


def markdown_index_fixture(name: str, corpus: dict):
    """A module-scoped fixture: ``corpus`` ({locale: {slug: markdown}}) indexed once for the
    module (:func:`index_markdown`, its folders named after ``name``) and yielded open (an
    IndexSet). The module names the fixture by binding it:
    ``corpus = markdown_index_fixture("body", CORPUS)``."""

    @pytest.fixture(scope="module")
    def indexed(tmp_path_factory):
        with open_current(index_markdown(tmp_path_factory, name, corpus)) as ix:
            yield ix

    return indexed


def search_slugs(ix, text: str, locale: str, **options) -> list[str]:
    """The slugs of the first ten results of ``text`` in ``locale`` (``options``: search's)."""
    return [h["slug"] for h in search(ix, text, locale, limit=10, **options)["results"]]


def build_files(tmp_path_factory, name: str, files: dict) -> tuple[Path, Path]:
    """``files`` ({locale: {slug: text}}) written (:func:`write_corpus`) into a new folder
    named after ``name`` and indexed there: ``(corpus, index)``."""
    root = tmp_path_factory.mktemp(name)
    corpus = write_corpus(root / "corpus", files)
    build_indexes(corpus, root / "ix", jobs=1)
    return corpus, root / "ix"


def serving_generation(index: Path) -> Path:
    """The folder of the generation ``index``'s CURRENT names."""
    return index / (index / "CURRENT").read_text().strip()


@pytest.fixture(scope="session")
def ixset(corpus_index):
    """The open IndexSet of the session's corpus index."""
    with open_current(corpus_index) as ix:
        yield ix


@pytest.fixture
def app(corpus_index):
    """A Flask app serving the session's corpus index."""
    app = create_app({"TESTING": True, "INDEX_DIR": str(corpus_index), "CORPUS_DIR": str(CORPUS)})
    yield app
    app.extensions["helpapi.indexes"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


SXS = (
    '<span data-ttu-id="a-{n}">{local}</span>'
    '<span class="sxs-lookup"><span data-stu-id="a-{n}">{english}</span></span>'
)


def sxs_article(title, english_title, sentences, assetid=None, extra_meta=""):
    """Text of a side-by-side article: sentences are (localized, English) pairs."""
    meta = f"title: {title}\n"
    if assetid:
        meta += f"ms.assetid: {assetid}\n"
    meta += extra_meta
    head = SXS.format(n=1, local=title, english=english_title)
    body = " ".join(
        SXS.format(n=i + 2, local=loc, english=en) for i, (loc, en) in enumerate(sentences)
    )
    return f"---\n{meta}ms.date: 05/28/2021\n---\n# {head}\n\n{body}\n"


def fruit_article(word: str, english: str) -> str:
    """A one-sentence side-by-side article titled after ``word`` (``english`` in English)."""
    return sxs_article(f"Titel {word}", f"Title {english}", [(f"Text {word}.", f"Text {english}.")])


# Two locales of two such articles: the small corpus of the admin and reindex-job tests.
FRUITS = {
    "de-DE": {"a": fruit_article("Apfel", "apple"), "b": fruit_article("Birne", "pear")},
    "fi-FI": {"a": fruit_article("omena", "apple"), "b": fruit_article("päärynä", "pear")},
}
# One locale, one such article: the smallest corpus a build serves.
APPLE = {"de-DE": {"a": fruit_article("Apfel", "apple")}}


def job_record(job_id: str, **fields) -> dict:
    """A job record as ``jobs.submit`` writes it (queued, full build), with ``fields`` set."""
    return {
        "id": job_id,
        "status": "queued",
        "created": 0.0,
        "started": None,
        "finished": None,
        "client": "",
        "request": {"locales": None, "full": True},
        "corpus_dir": "",
        "jobs": 1,
        "progress": {},
        "counts": {},
        "locales": {},
        "generation": None,
        "errors": [],
        "pid": None,
        **fields,
    }


def copy_index(src: Path, dst: Path) -> Path:
    """A copy of the index folder ``src`` at ``dst``, without its analytics database.

    Copying that database opens and closes it in this process, which drops the SQLite locks
    every open connection of this process holds on it (POSIX locks go with any close): another
    process may then delete its WAL, and this process's connections never see a new row again
    (tests/test_analytics_stale_view.py)."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("analytics.sqlite3*"))
    return Path(dst)


def write_corpus(root: Path, files: dict[str, dict[str, str]]) -> Path:
    """Write ``{locale: {slug: text}}`` as ``root/<locale>/<slug>.md``; return ``root``."""
    for locale, articles in files.items():
        for slug, text in articles.items():
            path = root / locale / f"{slug}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, "utf-8")
    return root


@pytest.fixture
def make_corpus(tmp_path):
    """Write ``{locale: {slug: text}}`` into a corpus folder and return its path."""

    def make(files: dict[str, dict[str, str]], root: Path | None = None) -> Path:
        return write_corpus(root or tmp_path / "corpus", files)

    return make


@pytest.fixture
def make_app(tmp_path):
    """``make_app(corpus, **config)``: index ``corpus`` in ``tmp_path/ix`` and an app over it.

    Every app made is closed (its index files) at teardown.
    """
    apps = []

    def make(corpus: Path, **config):
        index = tmp_path / "ix"
        build_indexes(corpus, index, jobs=1)
        app = create_app({"INDEX_DIR": str(index), "CORPUS_DIR": str(corpus), **config})
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["helpapi.indexes"].close()


@pytest.fixture
def copy_corpus(tmp_path):
    """A writable copy of part of the bundled corpus: ``copy_corpus(["de-DE"], 20)``;
    ``copy_corpus(None)`` copies every locale (a build long enough to stop mid-way)."""

    def copy(locales, limit=None) -> Path:
        root = tmp_path / "corpus-copy"
        if locales is None:
            locales = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
        for loc in locales:
            files = sorted((CORPUS / loc).rglob("*.md"))[:limit]
            for f in files:
                dest = root / loc / f.relative_to(CORPUS / loc)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, dest)
        return root

    return copy


def small_corpus(tmp_path: Path, locales, n: int) -> Path:
    """``tmp_path/corpus``: the first ``n`` Markdown files (by name, top folder only) of each of
    ``locales`` of the bundled corpus, copied."""
    root = tmp_path / "corpus"
    for locale in locales:
        (root / locale).mkdir(parents=True)
        for path in sorted((CORPUS / locale).glob("*.md"))[:n]:
            shutil.copy(path, root / locale / path.name)
    return root


def index_files(index_dir: Path, locale: str) -> dict[str, bytes]:
    """Every file of a locale's serving index by name, but the compound segment's inner files
    by extension (``seg.trm``...: segment names are random) and without the ``.toc``."""
    folder = index_dir / generations.current_generation(index_dir) / locale
    out = {}
    for path in folder.iterdir():
        if path.suffix == ".seg":
            store = CompoundStorage(FileStorage(str(folder)).open_file(path.name), use_mmap=False)
            for name in store.list():
                with store.open_file(name) as fh:
                    out["seg" + name[name.index(".") :]] = fh.read()
            store.close()
        elif path.suffix != ".toc":
            out[path.name] = path.read_bytes()
    return out


def wait_job_record(index: Path, job_id: str, timeout: float = 60.0, every: float = 0.05) -> dict:
    """The job's record once it is no longer active (read from ``index`` every ``every``
    seconds: the first such state it reads)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = jobs.read_job(index, job_id)
        if job["status"] not in jobs.ACTIVE:
            return job
        time.sleep(every)
    raise AssertionError(f"job {job_id} still {job['status']}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """A real gunicorn started by :func:`run_gunicorn`; ``output`` and ``returncode`` are
    set once it has stopped."""

    def __init__(self, port: int):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.output = ""
        self.returncode: int | None = None


@contextlib.contextmanager
def run_gunicorn(log_path: Path, ready: str = "/readyz", env: dict | None = None, **extra):
    """gunicorn with the project's ``gunicorn.conf.py`` on a free loopback port.

    The environment is ``env`` (default: this process's, without HELPAPI_* variables) plus
    ``extra`` and HELPAPI_BIND. Waits until ``ready`` answers (30 s at most, else raises with
    the log), yields a :class:`Gunicorn`, then stops it with SIGTERM (SIGKILL after 30 s).
    """
    port = _free_port()
    if env is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HELPAPI_")}
    env = {**env, **extra, "HELPAPI_BIND": f"127.0.0.1:{port}"}
    served = Gunicorn(port)
    log = open(log_path, "w+b")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(served.base + ready, timeout=1).read()
                break
            # A loaded machine can accept the connection and answer after the 1 s timeout.
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline or proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(log.read().decode()) from None
                time.sleep(0.2)
        yield served
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.seek(0)
        served.output = log.read().decode()
        served.returncode = proc.returncode
        log.close()


@pytest.fixture(scope="session")
def server(corpus_index, tmp_path_factory):
    """Real gunicorn (2 workers) on a free loopback port, serving the session's index."""
    log = tmp_path_factory.mktemp("gunicorn") / "log.txt"
    with run_gunicorn(log, HELPAPI_INDEX_DIR=str(corpus_index), WEB_CONCURRENCY="2") as served:
        yield served.base
    assert served.returncode == 0, served.output


def start_webdriver(make, attempts: int = 3):
    """``make()`` (a Selenium driver starter), tried ``attempts`` times.

    Selenium gives a driver process about 30 s to listen and the browser a fixed time to open a
    session; on a loaded CI machine (load ~20) chromedriver missed that, so a failed start is
    retried after a pause instead of failing every browser test of the module."""
    from selenium.common.exceptions import WebDriverException

    for attempt in range(1, attempts + 1):
        try:
            return make()
        except (WebDriverException, TimeoutError, ConnectionError):
            if attempt == attempts:
                raise
            time.sleep(2 * attempt)


@pytest.fixture
def batches(monkeypatch, tmp_path):
    """The sizes of the transactions of the writers of this test's databases (under its
    ``tmp_path``); ``gate`` (set) lets them through. Writers of other tests' databases (an
    app not yet collected, whose writer flushes late) pass untouched and uncounted."""
    sizes: list[int] = []
    gate = threading.Event()
    gate.set()
    write = analytics._write
    mine = str(tmp_path) + os.sep

    def counting(conn, items):
        files = [row[2] for row in conn.execute("PRAGMA database_list")]
        if not any(f.startswith(mine) for f in files):
            return write(conn, items)
        gate.wait(10)
        sizes.append(len(items))
        return write(conn, items)

    monkeypatch.setattr(analytics, "_write", counting)
    yield sizes, gate
    gate.set()


@pytest.fixture
def fresh_fallback_series():
    """helpapi.metrics' fallback counter as a new process has it, before and after the test:
    no requested tag seen (the first MAX_FALLBACK_LABELS keep their own series), no series.
    A test filling the tag set must not turn a later test's tag into "other"."""
    from helpapi import metrics

    def reset():
        metrics._fallback_labels.clear()
        metrics._fallback_children.clear()
        metrics.FALLBACK.clear()

    reset()
    yield
    reset()


@pytest.fixture
def session_apps(corpus_index, tmp_path):
    """``make(**config)``: an in-process app on the session index (analytics in ``tmp_path``),
    its analytics flushed and its indexes closed when the test ends."""
    apps = []

    def make(**config):
        settings = {"TESTING": True, "INDEX_DIR": str(corpus_index), "CORPUS_DIR": str(CORPUS)}
        settings["ANALYTICS_DB"] = str(tmp_path / "analytics.sqlite3")
        app = create_app({**settings, **config})
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["helpapi.analytics"].flush()
        app.extensions["helpapi.indexes"].close()
