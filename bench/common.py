"""Helpers shared by the benchmark scripts that drive a real gunicorn over HTTP."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from helpapi.corpus import iter_article_paths
from helpapi.corpus import parse_article


def shared_dir() -> Path:
    """``../shared`` beside the checkout (a git worktree may sit one level deeper)."""
    root = Path(__file__).resolve().parent.parent
    for parent in root.parents:
        if (parent / "shared").is_dir():
            return parent / "shared"
    return root.parent / "shared"


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url, method="GET", body=None, headers=None, timeout=10) -> tuple[int, dict]:
    """One HTTP request: (status, JSON body), error statuses included."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def title_queries(corpus: Path, per_locale: int = 40) -> list[tuple[str, str]]:
    """(locale, title) of the first ``per_locale`` articles of each locale: what a widget sends."""
    out = []
    for locale_dir in sorted(p for p in corpus.iterdir() if p.is_dir()):
        for slug, path in list(iter_article_paths(locale_dir))[:per_locale]:
            out.append((locale_dir.name, parse_article(path, locale_dir.name, slug).title))
    return out


def serving_env(index, port: int, **extra: str) -> dict[str, str]:
    """The environment of a benchmark's gunicorn: this process's without its HELPAPI_* and
    PROMETHEUS* settings, then serving ``index`` on 127.0.0.1:``port``, analytics off (see
    bench/analytics_cost.py for the recorder); ``extra`` last (wins)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELPAPI_", "PROMETHEUS"))}
    env.update(
        HELPAPI_INDEX_DIR=str(index), HELPAPI_BIND=f"127.0.0.1:{port}", HELPAPI_ANALYTICS="off"
    )
    env.update(extra)
    return env


def wait_ready(port: int, tries: int = 150, pause: float = 0.2, timeout: float = 1) -> bool:
    """Whether the server on 127.0.0.1:``port`` answered ``/readyz`` within ``tries`` tries."""
    for _ in range(tries):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=timeout)
            return True
        except OSError:
            time.sleep(pause)
    return False


def stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    """Stop a server gracefully (SIGTERM), then SIGKILL after ``timeout`` seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_with(checkout: Path, code: str, *args: str, cwd: Path | str) -> str:
    """Standard output of ``python -c code args`` in a fresh interpreter whose ``helpapi`` is
    ``checkout``'s (``PYTHONPATH``): one side of a before/after measured in separate processes."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    got = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return got.stdout


def build_ab_args(
    description: str, corpus: str, rounds: int | None = None
) -> tuple[argparse.Namespace, Path, Path]:
    """The command line of a build before/after script, parsed: ``--base`` (the other
    checkout), ``--corpus``, ``--locales`` and, when ``rounds`` is given, ``--rounds`` with that
    default. Prints the line naming both checkouts and the load; returns ``(args, base, head)``,
    head being this checkout."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--base", default="/work/main", help="the other checkout (before)")
    ap.add_argument("--corpus", default=corpus)
    ap.add_argument("--locales", default="de-DE,ja-JP")
    if rounds is not None:
        ap.add_argument("--rounds", type=int, default=rounds)
    args = ap.parse_args()
    base, head = Path(args.base).resolve(), Path(__file__).resolve().parent.parent
    print(f"base {base}, head {head}, load {os.getloadavg()[0]:.1f}")
    return args, base, head


def admin_server_env(index, corpus, token: str, port: int, **extra: str) -> dict[str, str]:
    """The environment of a benchmark's gunicorn that takes edits and reindexes: this
    process's without its HELPAPI_* settings, then serving ``index`` built from ``corpus`` on
    127.0.0.1:``port``, admin ``token``, no result cache, two workers; ``extra`` last (wins)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPAPI_")}
    env.update(
        HELPAPI_INDEX_DIR=str(index),
        HELPAPI_CORPUS_DIR=str(corpus),
        HELPAPI_ADMIN_TOKEN=token,
        HELPAPI_BIND=f"127.0.0.1:{port}",
        HELPAPI_RESULT_CACHE_SIZE="0",
        WEB_CONCURRENCY="2",
    )
    env.update(extra)
    return env
