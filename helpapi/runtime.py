"""Serving process plumbing for gunicorn.conf.py: worker count from the CPU quota, the worker.

Kept out of the app so it stays importable (and testable) without a running server.
"""

from __future__ import annotations

import gc
import logging
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

from gunicorn import util as _util
from gunicorn.glogging import Logger as _Logger
from gunicorn.http import wsgi as _wsgi
from gunicorn.workers.ggevent import GeventWorker as _GeventWorker

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _quota(cgroup_root: Path) -> float | None:
    """CPUs allowed by the cgroup (v2 ``cpu.max``, else v1 CFS files), or None for no quota."""
    try:
        quota, period = (cgroup_root / "cpu.max").read_text().split()[:2]
        if quota == "max":
            return None
        return int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota = int((cgroup_root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((cgroup_root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    if quota <= 0 or period <= 0:
        return None
    return quota / period


def _affinity() -> set[int]:
    return os.sched_getaffinity(0)


_AFFINITY = _affinity if hasattr(os, "sched_getaffinity") else None


def cpu_limit(
    cgroup_root: Path = CGROUP_ROOT, affinity: Callable[[], set[int]] | None = _AFFINITY
) -> int:
    """CPUs this process may use: the cgroup quota (rounded up), capped by the affinity mask.

    ``os.cpu_count()`` counts the host's cores, which in a container limited to 1 CPU would
    start a worker per host core, all competing for that one CPU.
    """
    cpus = None
    if affinity is not None:
        try:
            cpus = len(affinity()) or None
        except OSError:
            cpus = None
    if cpus is None:
        cpus = os.cpu_count() or 1
    quota = _quota(Path(cgroup_root))
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return cpus


# CPython collects its youngest generation every 700 container allocations. A search builds
# tens of thousands of short-lived lists, tuples and dicts (posting look-ups, candidate
# tables), each young collection re-walks those still alive: a 256-character chain query
# (bench/hostile.py) spent about half its CPU there (18-24 ms, 9-14 ms at 50,000; RESULTS.md
# "Stop 18: the worker's garbage collector"). At 50,000 the young generation holds a few MB
# at most before it is collected; reference counting frees most objects before that anyway.
GC_GEN0 = 50_000


def tune_gc(gen0: int | None = None) -> tuple[int, int, int]:
    """Set the collector's youngest-generation threshold to ``gen0`` (default: the
    ``HELPAPI_GC_GEN0`` environment variable, else :data:`GC_GEN0`; ``0`` or a value that is
    not a whole number from 1 to 10,000,000 keeps Python's), the older ones unchanged. For a
    serving worker (gunicorn.conf.py's ``post_worker_init``) or a benchmark measuring one.
    Returns the thresholds in force."""
    if gen0 is None:
        raw = os.environ.get("HELPAPI_GC_GEN0")
        try:
            gen0 = GC_GEN0 if raw is None else int(raw)
        except ValueError:
            gen0 = 0
    if 0 < gen0 <= 10_000_000:
        gc.set_threshold(gen0, *gc.get_threshold()[1:])
    return gc.get_threshold()


def default_workers() -> int:
    """Default gunicorn workers: one per usable CPU, plus one to cover I/O waits."""
    return cpu_limit() + 1


_GunicornResponse = _wsgi.Response
# The second and gunicorn's Date value for it (one tuple: replaced whole, never half-set).
_date_now: tuple = (None, "")


def http_date() -> str:
    """gunicorn's ``Date`` value for now, formatted once a second (the header has seconds)."""
    global _date_now
    now = int(time.time())
    if _date_now[0] != now:
        _date_now = (now, _util.http_date(now))
    return _date_now[1]


# The largest body written with its head: joining them copies the body, which for a large
# one (an article can be megabytes) costs more than the write it saves.
ONE_WRITE_MAX = 64 * 1024


class Response(_GunicornResponse):
    """gunicorn's HTTP/1 response, its head and a whole body written to the socket at once.

    gunicorn writes the head, then each body chunk, with one ``sendall`` each: two writes
    (two TCP segments on loopback, and a wake-up of the client for each) for every answer of
    one chunk, which every JSON answer of this app is. When the first chunk is the whole
    body (``Content-Length`` given and equal to its length; not chunked, not a response
    without a body) and at most :data:`ONE_WRITE_MAX` bytes, the head and the body go out in
    one write; the bytes are gunicorn's
    (tests/test_http22.py). Anything else is gunicorn's own writing.
    """

    def default_headers(self) -> list[str]:
        """gunicorn's status line and own headers, the ``Date`` made once a second (gunicorn
        formats it for every response, through ``email.utils``: ~3 us)."""
        if self.upgrade:
            connection = "upgrade"
        elif self.should_close():
            connection = "close"
        else:
            connection = "keep-alive"
        version = self.req.version
        headers = [
            f"HTTP/{version[0]}.{version[1]} {self.status}\r\n",
            f"Server: {self.version}\r\n",
            f"Date: {http_date()}\r\n",
            f"Connection: {connection}\r\n",
        ]
        if self.chunked:
            headers.append("Transfer-Encoding: chunked\r\n")
        return headers

    def head(self) -> bytes:
        """The status line and headers, as gunicorn's ``send_headers`` writes them."""
        tosend = self.default_headers()
        tosend.extend([f"{k}: {v}\r\n" for k, v in self.headers])
        tosend.append("\r\n")
        return "".join(tosend).encode("latin-1")

    def write(self, arg):
        """gunicorn's ``write``; the head and a whole body in one ``sendall``."""
        if (
            self.headers_sent
            or type(arg) is not bytes
            or self.chunked
            or getattr(self, "_omits_body", True)  # a gunicorn without it: its own writing
            or self.response_length != len(arg)
            or len(arg) > ONE_WRITE_MAX
        ):
            return super().write(arg)
        _util.write(self.sock, self.head() + arg)
        self.headers_sent = True
        self.sent = len(arg)


def settle_config(cfg) -> None:
    """Put every setting's value in the gunicorn ``Config``'s own ``__dict__``, for a worker.

    ``Config`` answers ``cfg.keepalive`` and every other setting from ``__getattr__``, which
    Python calls only after the ordinary lookup failed, an AttributeError raised and caught:
    about 1 us a read, and gunicorn reads settings ~20 times a request (parsing, environ,
    response): ~20 us of a request's CPU. In the instance dict the ordinary lookup finds
    them. A worker's settings never change after it forked (a reload starts new workers, with
    the master's config), and the names that are properties of ``Config`` (``is_ssl``,
    ``worker_class``, ``address``...) are data descriptors, which win over the instance dict:
    they are computed as before. A ``cfg.set()`` after this call is not seen by reads of
    ``cfg.<name>``: gunicorn sets settings only while the master loads its config, and a
    ``post_worker_init`` hook (which runs after this) must not change them.
    """
    own, cls = vars(cfg), type(cfg)
    own.update(
        (name, setting.get())
        for name, setting in cfg.settings.items()
        # Never over a name the class or the instance has (properties, methods, state).
        if not hasattr(cls, name) and name not in own
    )


class GeventWorker(_GeventWorker):
    """gunicorn's gevent worker, leaving ``threading`` unpatched.

    Every connection is a greenlet, so slow clients cost memory, not a worker. ``threading`` is
    left alone so that ``threading.local`` stays per OS thread: the app keeps one Whoosh
    searcher and ICU iterator per worker instead of one per connection (a greenlet-local would
    open a new searcher for every connection and keep it until the generation closes). That is
    safe because a request never yields to another greenlet while it searches: the only
    cooperative points are socket reads and writes, before and after the app code runs.
    """

    def init_process(self):
        """Read settings from the config's own dict (:func:`settle_config`) and answer with
        :class:`Response` (gunicorn's, in one write), then gunicorn's start.

        gunicorn makes each HTTP/1 response from ``gunicorn.http.wsgi.Response``; this
        process is the worker's own (forked), and serves nothing but this worker.
        """
        settle_config(self.cfg)
        if _wsgi.Response is _GunicornResponse:
            _wsgi.Response = Response
        super().init_process()

    def patch(self):
        """Monkey-patch sockets, select, ssl, time, subprocess, signal; not threads."""
        from gevent import monkey
        from gevent import socket

        monkey.patch_all(thread=False)
        self.sockets = [
            socket.socket(s.FAMILY, socket.SOCK_STREAM, fileno=s.sock.detach())
            for s in self.sockets
        ]


class Logger(_Logger):
    """gunicorn's logger, building its access line only when a handler would write it.

    helpapi writes its own access line (logger ``helpapi.access``) and sets ``accesslog =
    None``; but gunicorn builds its own line (the atoms of every request, then a log record)
    whenever a ``logconfig_dict`` is given, and gunicorn.conf.py gives one. With no handler
    on ``gunicorn.access`` (and it does not propagate) that line went nowhere: about a tenth
    of a ``/healthz`` request's CPU. An operator who sets ``--access-logfile`` or configures
    a handler for ``gunicorn.access`` gets the line as before.
    """

    def setup(self, cfg):
        """gunicorn's setup, then whether the access line has anywhere to go."""
        super().setup(cfg)
        log = self.access_log
        self.writes_access = log.isEnabledFor(logging.INFO) and log.hasHandlers()

    def access(self, resp, req, environ, request_time):
        """gunicorn's access line, when :meth:`setup` found a handler for it."""
        if self.writes_access:
            super().access(resp, req, environ, request_time)
