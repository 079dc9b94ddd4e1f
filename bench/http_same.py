"""Same answers over HTTP: two checkouts' responses compared request by request (issue #14 item 5).

Each checkout (``--base``, default /work/main, and this one) answers the same requests in a
subprocess with its own code and venv, through its app's WSGI callable (as gunicorn calls it),
result cache off, analytics off, CORS set to each of ``--cors`` in turn: searches sampled from
every set of ``../shared/queries`` (limits, offsets, prefix, three Accept-Language values, an
X-Request-Id, a ``SCRIPT_NAME``), scoped ones (filter, facets, sort), bad ones (every 400 the
route gives, invalid UTF-8, NUL), HEAD and OPTIONS. Compared: the status, every header (less
``X-Request-Id`` when the client sent none) in order, and the body bytes (less the random
``query_id``). Prints the count and the first differences; exits 1 on any.

    python bench/http_same.py [--base /work/main] [--index DIR] [--per-set 300]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import shared_dir  # noqa: E402

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
    args = ap.parse_args(argv)
    reqs = requests(args.per_set)
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "requests.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in reqs), "utf-8")
        for cors in args.cors or ["", "*", "https://help.example"]:
            base = answers(Path(args.base), args.index, path, cors)
            head = answers(ROOT, args.index, path, cors)
            differ = [i for i, (a, b) in enumerate(zip(base, head, strict=True)) if a != b]
            statuses: dict[str, int] = {}
            for a in head:
                statuses[a["status"]] = statuses.get(a["status"], 0) + 1
            print(f"CORS {cors!r}: {len(reqs)} requests, {len(differ)} differ; statuses {statuses}")
            for i in differ[:5]:
                print("  request:", reqs[i])
                print("  base:", json.dumps(base[i], ensure_ascii=False)[:600])
                print("  head:", json.dumps(head[i], ensure_ascii=False)[:600])
            failed += len(differ)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
