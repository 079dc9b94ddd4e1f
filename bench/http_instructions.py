"""User-space instructions a request of a real gunicorn worker, two checkouts (issue #14 item 5).

CPU time a request moves by 20-40 % from one round to the next on a shared 2-core machine;
instructions counted by valgrind's callgrind do not. Each checkout (``--base``, default
/work/main, and this one) runs its own gunicorn (its gunicorn.conf.py, one worker, result
cache off, analytics off) under ``valgrind --tool=callgrind --instr-atstart=no``; the first
``--warm`` of the ``--requests`` are sent uninstrumented (caches filled), then counting is
switched on in the worker (``callgrind_control -i on``), all ``--requests`` are sent one
after another on one keep-alive connection, and the count is dumped: instructions a
request, the worker's own (the kernel's work, e.g. a ``send``, is not counted; CPU time
tells that part). The search replay is ``http_overhead.py``'s Zipf mix; ``/healthz`` is the
floor. Needs valgrind (Debian).

    python bench/http_instructions.py [--base /work/main] [--requests 300] [--warm 200]
"""

from __future__ import annotations

import argparse
import glob
import http.client
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port  # noqa: E402
from bench.common import serving_env  # noqa: E402
from bench.common import stop  # noqa: E402
from bench.common import wait_ready  # noqa: E402
from bench.http_overhead import _replay_paths  # noqa: E402


def instructions(checkout: Path, index: str, paths: list[str], warm: list[str]) -> float:
    """Instructions a request of ``checkout``'s gunicorn worker over ``paths``."""
    port = free_port()
    env = serving_env(index, port, HELPAPI_RESULT_CACHE_SIZE="0", WEB_CONCURRENCY="1")
    tmp = Path(tempfile.mkdtemp(prefix="helpapi-callgrind-"))
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--trace-children=yes", "--instr-atstart=no"]
        + [f"--callgrind-out-file={tmp}/out.%p", str(checkout / ".venv/bin/python")]
        + ["-m", "gunicorn", "-c", "gunicorn.conf.py", "--log-level", "warning"]
        # valgrind makes a request ~50x slower: no heartbeat timeout on the way.
        + ["--timeout", "600", "wsgi:app"],
        cwd=checkout,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(port, tries=600, pause=1, timeout=5)  # (under valgrind: slow)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

        def send(batch):
            for path in batch:
                conn.request("GET", path)
                answer = conn.getresponse()
                answer.read()
                if answer.status != 200:
                    raise RuntimeError(f"{path}: {answer.status}")

        send(warm)
        (worker,) = subprocess.run(
            ["pgrep", "-P", str(server.pid)], capture_output=True, text=True, check=True
        ).stdout.split()
        subprocess.run(["callgrind_control", "-i", "on", worker], capture_output=True, check=True)
        send(paths)
        subprocess.run(["callgrind_control", "-d", worker], capture_output=True, check=True)
        for name in glob.glob(f"{tmp}/out.{worker}*"):
            text = Path(name).read_text(errors="replace")
            if "Trigger: dump" in text:
                summary = next(x for x in text.splitlines() if x.startswith("summary:"))
                return int(summary.split()[1]) / len(paths)
        raise RuntimeError(f"no dump from worker {worker}")
    finally:
        stop(server, timeout=120)
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="/work/main")
    ap.add_argument("--index", default="/tmp/helpapi-regen-index")
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--warm", type=int, default=200)
    args = ap.parse_args(argv)
    if not shutil.which("valgrind"):
        print("valgrind is not installed (apt-get install valgrind)")
        return 1
    replay = _replay_paths()
    kinds = {
        # Warmed up on the first of the requests it then counts (caches filled as in service).
        "search": (replay[: args.requests], replay[: args.warm]),
        "/healthz": (["/healthz"] * args.requests, ["/healthz"] * args.warm),
    }
    checkouts = {"base": Path(args.base).resolve(), "head": ROOT}
    print("| request | base instructions | head instructions | head/base |")
    print("|---|---:|---:|---:|")
    for kind, (paths, warm) in kinds.items():
        got = {name: instructions(at, args.index, paths, warm) for name, at in checkouts.items()}
        print(
            f"| {kind} | {got['base']:,.0f} | {got['head']:,.0f} | "
            f"{got['head'] / got['base']:.3f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
