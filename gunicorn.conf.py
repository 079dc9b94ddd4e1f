"""gunicorn settings for helpapi: `gunicorn -c gunicorn.conf.py wsgi:app`."""

import multiprocessing
import os

bind = os.environ.get("HELPAPI_BIND", "127.0.0.1:8000")
# Search is CPU-bound Python: one process per core plus one to cover I/O waits.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
threads = 1
worker_class = "sync"
timeout = 30
graceful_timeout = 20
keepalive = 5
# The app opens no index at import time, so preloading shares code pages without sharing
# index file handles; each worker opens the serving generation itself (post_worker_init).
preload_app = True
accesslog = None  # helpapi logs one structured line per request itself (logger helpapi.access)
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
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
        "gunicorn.error": {"handlers": ["error_console"], "level": "INFO", "propagate": False},
    },
}


def post_worker_init(worker):
    """Open the serving index generation in the worker, after fork, before its first request."""
    holder = getattr(worker.wsgi, "extensions", {}).get("helpapi.indexes")
    if holder is not None:
        try:
            holder.get()
        except Exception:  # a broken index must not stop the worker; requests report it
            worker.log.exception("could not open the index")
