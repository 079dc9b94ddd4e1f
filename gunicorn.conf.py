"""gunicorn settings for helpapi: `gunicorn -c gunicorn.conf.py wsgi:app`.

Slow clients (README "Serving"): each connection is a gevent greenlet, so a client that trickles
its headers or body holds a few kB of memory, never a worker. Header reading is bounded by
`keepalive` seconds (the gevent worker's read timeout), bodies by HELPAPI_BODY_TIMEOUT, the
connections per worker by `worker_connections`, and header sizes by the `limit_request_*` below.
"""

import gc
import os
import shutil
import sys
import tempfile

# prometheus_client picks its multiprocess mode when first imported: set the folder before the
# app (and so prometheus_client) is loaded. A fresh folder per start, so the counters of an
# earlier run are never summed in.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _metrics_dir = tempfile.mkdtemp(prefix="helpapi-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir
else:
    _metrics_dir = None

from helpapi import runtime  # noqa: E402
from helpapi.config import SettingsError  # noqa: E402
from helpapi.config import check_settings  # noqa: E402
from helpapi.config import load_settings  # noqa: E402

# A bad setting stops gunicorn here with one line naming the variable, before gunicorn loads
# the app (where the same error would end in its traceback of the app import).
try:
    check_settings(load_settings())
except SettingsError as exc:
    print(f"helpapi: {exc}", file=sys.stderr)
    sys.exit(1)

bind = os.environ.get("HELPAPI_BIND", "127.0.0.1:8000")
# Search is CPU-bound Python: one process per usable CPU (the container's quota, not the host's
# cores) plus one to cover I/O waits.
workers = int(os.environ.get("WEB_CONCURRENCY") or runtime.default_workers())
# gevent, with threading left unpatched (see helpapi/runtime.py).
worker_class = "helpapi.runtime.GeventWorker"
worker_connections = 256  # open connections per worker, slow ones included; more wait in backlog
timeout = 30
graceful_timeout = 20
# Seconds to wait for the next request on an open connection, and under gevent the time limit
# for a request's whole header block to arrive (a slowloris client is dropped after it).
keepalive = 5
limit_request_line = 4094  # a 256-character query percent-encoded fits several times over
limit_request_fields = 50
limit_request_field_size = 8190
# gunicorn 25+ opens a control socket in $HOME/.gunicorn by default: unwritable in the image, and
# shared by every instance of one user on a host. helpapi does not use gunicornc.
control_socket_disable = True
# The app opens no index at import time, so preloading shares code pages without sharing
# index file handles; each worker opens the serving generation itself (post_worker_init).
preload_app = True
accesslog = None  # helpapi logs one structured line per request itself (logger helpapi.access)
# ... and gunicorn's own line is not even built while nothing writes it (see runtime.Logger).
logger_class = "helpapi.runtime.Logger"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        # The access log and the admin audit log are JSON lines already: no text prefix.
        "json": {"format": "%(message)s"},
    },
    "handlers": {
        "json_console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        },
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "stream": "ext://sys.stderr",
        },
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "stream": "ext://sys.stderr",
        },
    },
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "helpapi": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "helpapi.access": {"handlers": ["json_console"], "level": "INFO", "propagate": False},
        "helpapi.admin": {"handlers": ["json_console"], "level": "INFO", "propagate": False},
        "gunicorn.error": {"handlers": ["error_console"], "level": "INFO", "propagate": False},
    },
}


def pre_fork(server, worker):
    """Freeze the preloaded modules' objects out of the collector before each fork.

    A worker's garbage collection writes to the header of every object it examines: without
    this, a full collection in a worker copies the pages of the master's imported modules into
    that worker's private memory (bench/RESULTS.md: largest worker 49 -> 41 MB on the dev corpus).
    """
    gc.collect()
    gc.freeze()


def post_worker_init(worker):
    """Open the serving index generation in the worker, after fork, before its first request;
    size its collector's young generation for searches (runtime.tune_gc)."""
    runtime.tune_gc()
    holder = getattr(worker.wsgi, "extensions", {}).get("helpapi.indexes")
    if holder is not None:
        try:
            holder.get()
        except Exception:  # a broken index must not stop the worker; requests report it
            worker.log.exception("could not open the index")


def child_exit(server, worker):
    """Drop a dead worker's live gauges from the multiprocess metrics (its counters stay)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the metrics folder this start created (the master's exit; never a worker's)."""
    if _metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)


def worker_exit(server, worker):
    """Write the analytics records still queued before the worker goes (graceful stop)."""
    recorder = getattr(worker.wsgi, "extensions", {}).get("helpapi.analytics")
    if recorder is not None:
        recorder.flush(timeout=5)
