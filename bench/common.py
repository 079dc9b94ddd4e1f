"""Helpers shared by the benchmark scripts that drive a real gunicorn over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
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
