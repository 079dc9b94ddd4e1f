"""Operator metrics: ``GET /metrics`` in the Prometheus text format.

Under gunicorn, ``PROMETHEUS_MULTIPROC_DIR`` (set by gunicorn.conf.py before this module is
imported) makes every worker write its counters to files there, and a scrape, answered by any
one worker, sums them all. Without it (tests, ``flask run``) the default registry of this
process is served. What is read from disk (the serving generation, the reindex job files) is
computed at scrape time, never counted in a worker.

Reindex durations are a histogram observed by the job runner process itself when it ends: it
inherits ``PROMETHEUS_MULTIPROC_DIR`` from the worker that started it, so its observation is
summed in like a worker's.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import time
from pathlib import Path

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import request
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Histogram
from prometheus_client import generate_latest
from prometheus_client import values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.core import InfoMetricFamily

from .errors import Unauthorized

bp = Blueprint("metrics", __name__)

# In multiprocess mode (under gunicorn) every update calls os.getpid(), a system call, to
# notice a fork (4 to 6 updates a request: bench/RESULTS.md "Stop 19: HTTP"). The pid is kept
# here instead, and refreshed in a forked child (gunicorn's workers, a forked job runner):
# prometheus_client's documented ``process_identifier`` hook. Set before any metric is made.
_PID = [os.getpid()]


def _pid() -> int:
    return _PID[0]


def _forked() -> None:
    _PID[0] = os.getpid()


if values.ValueClass is not values.MutexValue and hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)
    values.ValueClass = values.MultiProcessValue(process_identifier=_pid)

REQUESTS = Counter(
    "helpapi_requests", "HTTP requests answered, by route and status.", ["route", "status"]
)
LATENCY = Histogram(
    "helpapi_request_duration_seconds",
    "Time to answer a request, by route and status.",
    ["route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SEARCHES = Counter("helpapi_searches", "Searches answered, by served locale.", ["locale"])
# By the answering locale, as helpapi_searches: zero / searches is then a rate per locale. The
# locales people asked for are in the insights API (and the fallback counter below).
ZERO = Counter(
    "helpapi_zero_result_searches",
    "Searches with no hit (not those whose filters removed every hit), by served (answering)"
    " locale, as helpapi_searches.",
    ["locale"],
)
FALLBACK = Counter(
    "helpapi_fallback_searches",
    "Searches answered in English for another locale, by requested locale.",
    ["locale"],
)
RESULT_CACHE = Counter(
    "helpapi_result_cache_lookups",
    "Search answers looked up in a worker's result cache, by result (hit or miss).",
    ["result"],
)
REINDEX = Histogram(
    "helpapi_reindex_duration_seconds",
    "Duration of finished reindex jobs, by outcome (succeeded, failed, cancelled).",
    ["status"],
    buckets=(1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200),
)
DROPPED = Counter(
    "helpapi_analytics_dropped",
    "Analytics records lost: a full queue, a malformed row or a failed write.",
)


# The labelled children, looked up once per label set: ``labels()`` takes a lock and builds
# its key on every call, as much as the increment itself costs. The label sets are few (routes
# x statuses, locales, hit/miss), and a child stays valid across gunicorn's fork (its value
# notices the new pid). Dicts: a lost race only makes the same child twice.
_request_children: dict[tuple[str, int], tuple] = {}
_search_children: dict[str, object] = {}
_zero_children: dict[str, object] = {}
_fallback_children: dict[str, object] = {}
_cache_children: dict[str, object] = {}


def observe_request(route: str, status: int, seconds: float) -> None:
    """Count one answered request."""
    found = _request_children.get((route, status))
    if found is None:
        found = _request_children[route, status] = (
            REQUESTS.labels(route, str(status)),
            LATENCY.labels(route, str(status)),
        )
    found[0].inc()
    found[1].observe(seconds)


# Requested tags are typed by clients: the first MAX_FALLBACK_LABELS seen by a process keep their
# own series, later ones count under "other" (each series is memory, and a file under gunicorn).
MAX_FALLBACK_LABELS = 64
_fallback_labels: set[str] = set()


def _fallback_label(tag: str) -> str:
    if tag not in _fallback_labels and len(_fallback_labels) >= MAX_FALLBACK_LABELS:
        return "other"
    _fallback_labels.add(tag)
    return tag


def _child(children: dict, metric, label: str):
    child = children.get(label)
    if child is None:
        # A series appears at its first count, as with labels() on each call.
        child = children[label] = metric.labels(label)
    return child


def observe_search(
    served: str, requested: str | None, total: int, fallback: bool, filtered_out: bool = False
) -> None:
    """Count one answered search; one whose filters removed every match (``filtered_out``)
    is not a zero-result search (the locale has articles)."""
    # Served locales are the index's (never a client's string): a bounded set.
    _child(_search_children, SEARCHES, served).inc()
    if total == 0 and not filtered_out:
        _child(_zero_children, ZERO, served).inc()
    if fallback:
        _child(_fallback_children, FALLBACK, _fallback_label(requested or served)).inc()


def observe_result_cache(hit: bool) -> None:
    """Count one search answer looked up in the result cache (benchmarks report the hit rate)."""
    _child(_cache_children, RESULT_CACHE, "hit" if hit else "miss").inc()


def observe_reindex_job(index_dir: str | Path, job_id: str) -> None:
    """Observe a job's duration by outcome, from its record; the runner calls it as it ends.

    A job still recorded active here was cancelled (its canceller records that once the
    runner is gone). Never raises: the instance may have stopped (and removed its metrics
    folder) while the job ran.
    """
    try:
        from .jobs import jobs_dir

        path = jobs_dir(Path(index_dir), create=False) / f"{job_id}.json"
        job = json.loads(path.read_text(encoding="utf-8"))
        started = job.get("started")
        if not started:
            return
        status = job.get("status")
        if status in ("queued", "running"):
            status, finished = "cancelled", time.time()
        else:
            finished = job.get("finished") or time.time()
        REINDEX.labels(status).observe(max(0.0, finished - started))
    except Exception:  # metrics must never change a job's outcome
        with contextlib.suppress(Exception):
            logging.getLogger("helpapi.metrics").debug("reindex duration not observed")


def analytics_dropped(count: int = 1) -> None:
    """Count analytics records lost: refused by a full queue, or never written."""
    DROPPED.inc(count)


class IndexCollector:
    """Serving generation (info and age) and reindex jobs, read from the index folder."""

    def __init__(self, index_dir: str):
        self.index_dir = Path(index_dir)

    def collect(self):
        """Metric families computed now."""
        from . import generations
        from . import jobs

        info = InfoMetricFamily("helpapi_generation", "The serving index generation.")
        age = GaugeMetricFamily(
            "helpapi_generation_age_seconds", "Seconds since the serving generation was built."
        )
        name = generations.current_generation(self.index_dir)
        if name:
            info.add_metric([], {"generation": name})
            try:
                built = (self.index_dir / name / "meta.json").stat().st_mtime
                age.add_metric([], max(0.0, time.time() - built))
            except OSError:
                pass
        yield info
        yield age
        counts = GaugeMetricFamily(
            "helpapi_reindex_jobs",
            "Reindex jobs on record (the most recent ones kept), by status.",
            labels=["status"],
        )
        duration = GaugeMetricFamily(
            "helpapi_reindex_last_duration_seconds",
            "Duration of the most recent finished reindex job, by its outcome.",
            labels=["status"],
        )
        by_status: dict[str, int] = {}
        last = None
        try:
            recent = jobs.list_jobs(self.index_dir, limit=100)
        except OSError:
            recent = []
        for job in recent:
            by_status[job["status"]] = by_status.get(job["status"], 0) + 1
            if last is None and job.get("finished") and job.get("started"):
                last = job
        for status, n in sorted(by_status.items()):
            counts.add_metric([status], n)
        if last is not None:
            duration.add_metric([last["status"]], last["finished"] - last["started"])
        yield counts
        yield duration


# prometheus_client chose file-backed (multiprocess) values when it was imported, from the
# variable as it was then; a variable set later (by code that merely read gunicorn.conf.py)
# must not switch the scrape to files nobody writes.
_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
_MULTIPROCESS = bool(_MULTIPROC_DIR) and values.ValueClass is not values.MutexValue


def _registry(index_dir: str) -> CollectorRegistry:
    if _MULTIPROCESS:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=_MULTIPROC_DIR)
    else:
        registry = CollectorRegistry()
        collectors = (REQUESTS, LATENCY, SEARCHES, ZERO, FALLBACK, RESULT_CACHE, REINDEX, DROPPED)
        for collector in collectors:
            registry.register(collector)
    registry.register(IndexCollector(index_dir))
    return registry


@bp.get("/metrics")
def metrics_view():
    """Prometheus text exposition; Bearer ``HELPAPI_METRICS_TOKEN`` when one is set."""
    token = current_app.config.get("METRICS_TOKEN", "")
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            raise Unauthorized("Authorization: Bearer <HELPAPI_METRICS_TOKEN> is required.")
    body = generate_latest(_registry(current_app.config["INDEX_DIR"]))
    return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})
