"""Same answers over HTTP: two checkouts' responses compared request by request (issue #14 item 5).

Each checkout (``--base``, default /work/main, and this one) answers the same requests in a
subprocess with its own code and venv, through its app's WSGI callable (as gunicorn calls it),
result cache off, analytics off, CORS set to each of ``--cors`` in turn: searches sampled from
every set of ``../shared/queries`` (limits, offsets, prefix, three Accept-Language values, an
X-Request-Id, a ``SCRIPT_NAME``), scoped ones (filter, facets, sort), bad ones (every 400 the
route gives, invalid UTF-8, NUL), HEAD and OPTIONS. Compared: the status, every header (less
``X-Request-Id`` when the client sent none) in order, and the body bytes (less the random
``query_id``). Prints the count and the first differences; exits 1 on any.

``--gunicorn``: the same requests (less those with a ``SCRIPT_NAME``, which gunicorn takes
from the process environment) sent to each checkout's real gunicorn (its gunicorn.conf.py, one
worker), one keep-alive connection each, and the raw response bytes compared: status line,
every header in order, body (less the ``Date`` value, an ``X-Request-Id`` the client did not
send, and ``query_id``), so that what the worker writes to the socket is checked too.

    python bench/http_same.py [--base /work/main] [--index DIR] [--per-set 300] [--gunicorn]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port  # noqa: E402
from bench.common import serving_env  # noqa: E402
from bench.common import shared_dir  # noqa: E402
from bench.common import stop  # noqa: E402
from bench.common import wait_ready  # noqa: E402

QUERIES = shared_dir() / "queries"
SETS = ("title", "body", "xling", "kw", "prefix", "typo", "fallback")

# Run inside a checkout: reads requests (JSON lines) on argv[2], writes one answer a line.
ANSWER = r"""
import json, logging, os, re, sys, tempfile
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="helpapi-same-mp-")
for k in [k for k in os.environ if k.startswith("HELPAPI_")]:
    del os.environ[k]
os.environ.update(HELPAPI_INDEX_DIR=sys.argv[1], HELPAPI_ANALYTICS="off",
                  HELPAPI_RESULT_CACHE_SIZE="0", HELPAPI_CORS_ORIGINS=sys.argv[3])
from helpapi import create_app
from werkzeug.test import EnvironBuilder
app = create_app()
logging.getLogger("helpapi.access").disabled = True
QID = re.compile(rb'"query_id":"[0-9a-f]+"')
out = open(sys.argv[4], "w")
for line in open(sys.argv[2], encoding="utf-8"):
    req = json.loads(line)
    env = EnvironBuilder(path=req["path"], method=req["method"],
                         headers=req["headers"]).get_environ()
    env["QUERY_STRING"] = req["query"].encode("utf-8").decode("latin-1")
    env["SCRIPT_NAME"] = req.get("script", "")
    env["REMOTE_ADDR"] = "127.0.0.1"
    got = {}
    def start_response(status, headers, exc_info=None):
        got["status"], got["headers"] = status, headers
    chunks = app(env, start_response)
    body = b"".join(chunks)
    getattr(chunks, "close", lambda: None)()
    keep_rid = "X-Request-Id" in req["headers"]
    headers = [[k, v] for k, v in got["headers"] if keep_rid or k != "X-Request-Id"]
    out.write(json.dumps({"status": got["status"], "headers": headers,
                          "body": QID.sub(b'"query_id":""', body).decode("utf-8", "replace")},
                         ensure_ascii=False) + "\n")
out.close()
"""


def requests(per_set: int, seed: int = 3) -> list[dict]:
    """The requests both checkouts answer."""
    rng = random.Random(seed)
    langs = [None, "de-DE,de;q=0.9", "pt-BR, fi;q=0.8", "xx"]
    origins = [None, "https://help.example", "https://other.example"]
    out = []

    def add(query: str, method="GET", headers=None, script="", path="/v1/search"):
        out.append(
            {
                "path": path,
                "method": method,
                "query": query,
                "headers": headers or {},
                "script": script,
            }
        )

    for kind in SETS:
        rows = [
            json.loads(x)
            for x in (QUERIES / f"{kind}.jsonl").read_text("utf-8").splitlines()
            if x.strip()
        ]
        for q in rng.sample(rows, min(per_set, len(rows))):
            params = {"q": q["q"]}
            if rng.random() < 0.85:
                params["locale"] = q["locale"]
            if kind == "prefix" or rng.random() < 0.05:
                params["prefix"] = "true"
            if rng.random() < 0.15:
                params["limit"] = str(rng.choice([1, 3, 5, 20, 50]))
            if rng.random() < 0.1:
                params["offset"] = str(rng.choice([1, 5, 10, 30]))
            headers = {}
            lang = rng.choice(langs)
            if lang:
                headers["Accept-Language"] = lang
            origin = rng.choice(origins)
            if origin:
                headers["Origin"] = origin
            if rng.random() < 0.1:
                headers["X-Request-Id"] = f"rid-{len(out)}"
            script = "/help" if rng.random() < 0.05 else ""
            add(urllib.parse.urlencode(params), headers=headers, script=script)
    odd = [
        "",
        "q=",
        "q=%20%20",
        "q=" + "a" * 300,
        "q=team&limit=0",
        "q=team&limit=abc",
        "q=team&limit=1000",
        "q=team&offset=-1",
        "q=team&offset=100000",
        "q=team&prefix=maybe",
        "q=team&refines=not-an-id!",
        "q=team&refines=0123456789abcdef0123456789abcdef",
        "q=team&locale=!!",
        "q=team&locale=" + "x" * 100,
        "q=team&locale=tlh-QQ",
        "q=%FF%FE&locale=de-DE",
        "q=a%00b",
        "q=team&q=other&locale=de-DE&locale=fr-FR",
        "q=team&filter=audience:Admin",
        "q=password&facets=audience,service&locale=de-DE",
        "q=password&sort=updated",
        "q=password&filter=nope:x",
        "q=team;locale=de-DE",
        "&&q=team&=x&novalue&;",
        "q=caf%C3%A9&locale=fr-FR&limit=%31%30",
    ]
    for query in odd:
        add(query)
        add(query, headers={"Origin": "https://help.example", "Accept-Language": "ja"})
    add("q=team", method="HEAD")
    add("q=team", method="OPTIONS", headers={"Origin": "https://help.example"})
    add("q=team", method="POST")
    add("q=team", path="/v1/search/")
    add("q=team", headers={"Accept-Language": "de\x00"})
    add("", path="/healthz")
    return out


def answers(checkout: Path, index: str, reqs: Path, cors: str) -> list[dict]:
    """Each request's answer from ``checkout``'s code."""
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as out:
        subprocess.run(
            [str(checkout / ".venv/bin/python"), "-c", ANSWER, index, str(reqs), cors, out.name],
            cwd=checkout,
            check=True,
            # One string hash seed: werkzeug's Allow header lists a set of methods.
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        return [json.loads(x) for x in Path(out.name).read_text("utf-8").splitlines()]


DATE = re.compile(rb"\r\nDate: [^\r]*")
RID = re.compile(rb"\r\nX-Request-Id: [^\r]*")
WIRE_QID = re.compile(rb'"query_id":"[0-9a-f]+"')


def _raw_request(req: dict) -> bytes:
    target = req["path"] + ("?" + req["query"] if req["query"] else "")
    lines = [f"{req['method']} {target} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in req["headers"].items()]
    if req["method"] == "POST":
        lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def _read_answer(sock: socket.socket, buf: bytes, head_only: bool) -> tuple[bytes, bytes]:
    """One response off a kept-alive connection: (its bytes, what followed it)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return buf, b""
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    found = re.search(rb"\r\nContent-Length: (\d+)", head, re.IGNORECASE)
    length = 0 if head_only or found is None else int(found.group(1))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest[:length], rest[length:]


def wire_answers(checkout: Path, index: str, reqs: list[dict], cors: str) -> list[bytes]:
    """Each request's raw answer from ``checkout``'s gunicorn (a new connection after one
    that closes)."""
    port = free_port()
    env = serving_env(
        index,
        port,
        HELPAPI_RESULT_CACHE_SIZE="0",
        HELPAPI_CORS_ORIGINS=cors,
        WEB_CONCURRENCY="1",
        PYTHONHASHSEED="0",
    )
    server = subprocess.Popen(
        [str(checkout / ".venv/bin/python"), "-m", "gunicorn", "-c", "gunicorn.conf.py"]
        + ["--log-level", "warning", "wsgi:app"],
        cwd=checkout,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(port)
        out, sock, buf = [], None, b""
        for req in reqs:
            if sock is None:
                sock, buf = socket.create_connection(("127.0.0.1", port), timeout=30), b""
            sock.sendall(_raw_request(req))
            answer, buf = _read_answer(sock, buf, req["method"] == "HEAD")
            if b"\r\nConnection: close" in answer.split(b"\r\n\r\n")[0]:
                sock.close()
                sock = None
            keep_rid = "X-Request-Id" in req["headers"]
            answer = DATE.sub(b"\r\nDate: -", answer)
            if not keep_rid:
                answer = RID.sub(b"\r\nX-Request-Id: -", answer)
            out.append(WIRE_QID.sub(b'"query_id":""', answer))
        if sock is not None:
            sock.close()
        return out
    finally:
        stop(server)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="/work/main")
    ap.add_argument("--index", default="/tmp/helpapi-regen-index")
    ap.add_argument("--per-set", type=int, default=300)
    ap.add_argument(
        "--cors",
        action="append",
        help="HELPAPI_CORS_ORIGINS values to run with (default: none, *, one origin)",
    )
    ap.add_argument(
        "--gunicorn",
        action="store_true",
        help="compare the raw bytes each checkout's real gunicorn writes (one worker)",
    )
    args = ap.parse_args(argv)
    reqs = requests(args.per_set)
    failed = 0
    if args.gunicorn:
        reqs = [r for r in reqs if not r["script"]]
        for cors in args.cors or ["", "*", "https://help.example"]:
            base = wire_answers(Path(args.base), args.index, reqs, cors)
            head = wire_answers(ROOT, args.index, reqs, cors)
            failed += _report(
                f"gunicorn, CORS {cors!r}", reqs, base, head, lambda a: a.split(b"\r\n", 1)[0], repr
            )
        return 1 if failed else 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "requests.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in reqs), "utf-8")
        for cors in args.cors or ["", "*", "https://help.example"]:
            base = answers(Path(args.base), args.index, path, cors)
            head = answers(ROOT, args.index, path, cors)
            failed += _report(
                f"CORS {cors!r}",
                reqs,
                base,
                head,
                lambda a: a["status"],
                lambda a: json.dumps(a, ensure_ascii=False),
            )
    return 1 if failed else 0


def _report(label: str, reqs: list, base: list, head: list, kind, shown) -> int:
    """Print how many of ``reqs``' answers differ between the checkouts, the head's answers
    counted by ``kind``, and the first five that differ (``shown``); return how many differ."""
    differ = [i for i, (a, b) in enumerate(zip(base, head, strict=True)) if a != b]
    kinds: dict = {}
    for a in head:
        kinds[kind(a)] = kinds.get(kind(a), 0) + 1
    print(f"{label}: {len(reqs)} requests, {len(differ)} differ; {kinds}")
    for i in differ[:5]:
        print("  request:", reqs[i])
        print("  base:", shown(base[i])[:600])
        print("  head:", shown(head[i])[:600])
    return len(differ)


if __name__ == "__main__":
    sys.exit(main())
