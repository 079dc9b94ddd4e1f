"""A copy of an index folder taken by this process must leave its SQLite connections live.

``pytest tests/test_api.py tests/test_metrics.py`` failed every time: the gunicorn workers
wrote all 20 searches' analytics rows at once (another process read them), but the test
process read none. Its connections (the writer threads of the apps earlier tests made, 48
after tests/test_api.py) were on a deleted WAL and shared-memory file:

* tests/test_metrics.py copied the session's index folder with ``shutil.copytree``, which opens
  and closes ``analytics.sqlite3``. Closing any descriptor of a file drops every POSIX lock
  the process holds on it, so the SHARED lock each SQLite connection keeps on the database
  was gone;
* gunicorn's master (its start-up prune) then closed what it took for the last connection
  and deleted ``-wal`` and ``-shm``; the workers made new ones. Every connection this process
  opened afterwards shared its old (deleted) shared memory: it never saw the new rows.

Test copies of an index folder now leave the live analytics files out (conftest.copy_index).
"""

from __future__ import annotations

import subprocess
import sys

from helpapi import analytics

from .conftest import ROOT
from .conftest import copy_index

ROW = dict(query_id="q1", query="outlook", locale="de-DE", fallback=0, total=1, offset=0)


def _other_process(code: str) -> subprocess.Popen:
    """``code`` in another Python process (helpapi importable); it prints ``ok`` when done,
    then keeps its connections open until its standard input closes."""
    script = f"import sys\nfrom helpapi import analytics\n{code}\nprint('ok', flush=True)\n"
    script += "sys.stdin.read()\n"
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "ok"
    return proc


def test_a_copied_index_leaves_this_processs_analytics_connections_live(tmp_path):
    index = tmp_path / "ix"
    index.mkdir()
    (index / "CURRENT").write_text("g1\n")
    db = index / "analytics.sqlite3"
    held = analytics.connect(db)  # an app's writer thread keeps its connection open
    copy = copy_index(index, tmp_path / "copy")
    assert (copy / "CURRENT").exists() and not list(copy.glob("analytics.sqlite3*"))
    # Another process opens and closes the database (gunicorn's master prunes at start-up) ...
    _other_process(f"analytics.connect({str(db)!r}).close()").communicate()
    # ... and a worker writes a search, its connection open.
    row = dict(ROW, limit=10, ms=1.0)
    worker = _other_process(
        f"c = analytics.connect({str(db)!r})\n"
        f"with c:\n    c.execute(*analytics.search_insert({row!r}))"
    )
    try:
        fresh = analytics.connect(db)
        assert fresh.execute("SELECT query_id FROM searches").fetchall() == [("q1",)]
        fresh.close()
    finally:
        worker.communicate()
        held.close()
