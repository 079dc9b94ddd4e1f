"""Edit to searchable: one article changed through the ingestion API, until search finds it.

Copies one locale of ``../shared/corpus-scale`` (about 2,900 articles) into a temporary corpus,
builds its index, starts real gunicorn (the project's ``gunicorn.conf.py``, 2 workers, an admin
token), then, per round:

1. ``PUT /v1/admin/articles/<locale>/<slug>`` with the article's own text plus one new,
   unique word inside a localized sentence (so its English is unchanged: only that locale is
   rebuilt), timed from the request until the answer (``write``);
2. polls the job until it has succeeded (``job``);
3. polls ``/v1/search`` for the new word until the article is found (``visible``: the worker
   noticed the new generation).

Prints each round's write / job / visible seconds, the job's own build seconds, and the CPU
seconds of the job's runner process and of the children it waited for (the forked postings.bin
writer), sampled from ``/proc`` while the job is polled (the last poll's figure: a runner
ends within moments of recording the job); the target is <= 5 s from PUT to visible.

``--root`` runs another checkout's code (its ``gunicorn.conf.py`` and package, with the
interpreter of its venv) under this script, e.g. to compare with main back to back:
``/work/main/.venv/bin/python bench/edit_to_search.py --root /work/main``.

The package's bytecode is compiled first (``compileall``), as ``pip install`` leaves it in an
installed package and in the image: a checkout run with ``PYTHONDONTWRITEBYTECODE=1`` (this
machine's environment) would otherwise compile every module in each job's runner process.

    python bench/edit_to_search.py [--locale de-DE] [--rounds 3] [--keep DIR] [--root DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import admin_server_env  # noqa: E402
from bench.common import call  # noqa: E402
from bench.common import free_port  # noqa: E402
from bench.common import shared_dir  # noqa: E402
from bench.common import stop  # noqa: E402

SCALE = shared_dir() / "corpus-scale"
TOKEN = "bench-edit-token-" + secrets.token_hex(8)


def _call(method: str, url: str, body: bytes | None = None, ctype: str = "") -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if ctype:
        headers["Content-Type"] = ctype
    return call(url, method, body, headers, timeout=30)


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu(index: Path, job_id: str) -> tuple[float, float] | None:
    """CPU seconds of the job's runner, and of the children it waited for (None before it
    started or once it is gone). The API does not show the pid: the job's file does."""
    try:
        pid = json.loads((index / "jobs" / f"{job_id}.json").read_text("utf-8")).get("pid")
    except (OSError, ValueError):
        return None
    if not pid:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    # utime, stime, cutime, cstime (fields 14-17 of proc(5); 12-15 after the name)
    own, children = sum(map(int, fields[11:13])), sum(map(int, fields[13:15]))
    return own / _TICK, children / _TICK


def _edited(text: str, word: str) -> str:
    """``text`` with ``word`` added inside its first localized sxs sentence (or appended)."""
    match = re.search(r'(<span data-ttu-id="[^"]*">)([^<]*)(</span>)', text)
    if match:
        return text[: match.end(2)] + f" {word}" + text[match.end(2) :]
    return text + f"\n\n{word}\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--locale", default="de-DE")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", help="work folder to keep (default: a temporary one)")
    ap.add_argument("--scale", default=str(SCALE), help="the corpus-scale folder (from a worktree)")
    ap.add_argument("--root", default=str(ROOT), help="checkout whose code runs (default: this)")
    args = ap.parse_args()
    root = Path(args.root).resolve()
    work = Path(args.keep or tempfile.mkdtemp(prefix="helpapi-edit-"))
    corpus, index = work / "corpus", work / "index"
    if not (corpus / args.locale).is_dir():
        shutil.copytree(Path(args.scale) / args.locale, corpus / args.locale)
    files = sorted((corpus / args.locale).rglob("*.md"))
    print(f"{args.locale}: {len(files)} articles in {corpus}")
    bin_dir = Path(sys.executable).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "helpapi")], check=True)
    t = time.perf_counter()
    build = [str(bin_dir / "helpapi"), "index", "build", "--corpus", str(corpus)]
    subprocess.run(
        [*build, "--index", str(index)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    print(f"full build: {time.perf_counter() - t:.1f} s")
    port = free_port()
    env = admin_server_env(index, corpus, TOKEN, port)
    log = open(work / "gunicorn.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/readyz", timeout=2).read()
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        rows = []
        # Figures under a shared machine's load are noisy: the load average goes with them.
        load = [os.getloadavg()[0]]
        for n in range(args.rounds):
            path = files[(n * 997) % len(files)]
            slug = path.relative_to(corpus / args.locale).as_posix()[: -len(".md")]
            word = "zqx" + secrets.token_hex(4)
            body = _edited(path.read_text("utf-8"), word).encode()
            url = f"{base}/v1/admin/articles/{args.locale}/{urllib.parse.quote(slug)}"
            t0 = time.perf_counter()
            status, answer = _call("PUT", url, body, "text/markdown")
            t_write = time.perf_counter() - t0
            if status != 202:
                raise SystemExit(f"PUT {slug}: {status} {answer}")
            job_url = base + answer["job"]["url"]
            cpu = None
            while True:
                _, job = _call("GET", job_url)
                cpu = _cpu(index, job["id"]) or cpu
                if job["status"] not in ("queued", "running"):
                    break
                time.sleep(0.05)
            t_job = time.perf_counter() - t0
            if job["status"] != "succeeded":
                raise SystemExit(f"job {job['id']}: {job['status']} {job.get('errors')}")
            query = urllib.parse.urlencode({"q": word, "locale": args.locale})
            while True:
                _, found = _call("GET", f"{base}/v1/search?{query}")
                if any(h["slug"] == slug for h in found.get("results", [])):
                    break
                if time.perf_counter() - t0 > 120:
                    raise SystemExit(f"{word} not found after 120 s")
                time.sleep(0.02)
            t_visible = time.perf_counter() - t0
            rebuilt = ",".join(sorted(job.get("locales", {})))
            rows.append((t_write, t_job, t_visible, job.get("seconds", 0.0), rebuilt, cpu))
            print(
                f"round {n + 1}: write {t_write:.2f} s, job done {t_job:.2f} s, "
                f"visible {t_visible:.2f} s (job build {job.get('seconds')} s; rebuilt {rebuilt}; "
                f"runner CPU {'?' if cpu is None else f'{cpu[0]:.2f} s + {cpu[1]:.2f} s children'})"
            )
        load.append(os.getloadavg()[0])
        print(f"load average (1 min), first PUT -> end: {load[0]:.1f} -> {load[1]:.1f}")
        cpus = [r[5] for r in rows if r[5] is not None]
        if cpus:
            own = statistics.median(c[0] for c in cpus)
            total = statistics.median(sum(c) for c in cpus)
            print(f"median runner CPU (sampled): {own:.2f} s own, {total:.2f} s with children")
        median = statistics.median(r[2] for r in rows)
        verdict = "met" if median <= 5 else "NOT met"
        print(f"median PUT -> searchable: {median:.2f} s (target <= 5 s: {verdict})")
        return 0 if median <= 5 else 1
    finally:
        stop(proc)
        log.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
