"""``helpapi insights rollup`` builds the insights rollup up front: over a big existing
database the first build takes minutes, which dashboard loads would otherwise spread over
several requests that may answer 503 until it is done (stop 14 note)."""

from __future__ import annotations

from click.testing import CliRunner

from helpapi import rollup
from helpapi.analytics import connect
from helpapi.cli import main

from .test_insights_rollup import DAY
from .test_insights_rollup import NOW
from .test_insights_rollup import Gen


def test_the_command_builds_the_whole_rollup_and_says_what_it_did(tmp_path):
    db = tmp_path / "analytics.sqlite3"
    conn = connect(db)
    with conn:
        Gen(conn).traffic(NOW - 5 * DAY, NOW - DAY, 300)
    result = CliRunner().invoke(main, ["insights", "rollup", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "hours recomputed" in result.output and "0 left dirty" in result.output
    assert rollup._current(conn)
    again = CliRunner().invoke(main, ["insights", "rollup", "--db", str(db)])
    assert again.exit_code == 0 and "up to date" in again.output
    conn.close()


def test_the_default_database_is_the_index_folders(tmp_path):
    conn = connect(tmp_path / "analytics.sqlite3")
    with conn:
        Gen(conn).traffic(NOW - 2 * DAY, NOW - DAY, 50)
    result = CliRunner().invoke(main, ["insights", "rollup", "--index", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert rollup._current(conn)
    conn.close()


def test_a_missing_database_is_a_clear_error_and_creates_nothing(tmp_path):
    db = tmp_path / "nope.sqlite3"
    result = CliRunner().invoke(main, ["insights", "rollup", "--db", str(db)])
    assert result.exit_code != 0
    assert "no analytics database" in result.output and str(db) in result.output
    assert not db.exists()


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path):
    db = tmp_path / "analytics.sqlite3"
    db.write_bytes(b"\x00garbage, not SQLite\xff" * 100)
    result = CliRunner().invoke(main, ["insights", "rollup", "--db", str(db)])
    assert result.exit_code == 1 and "not an analytics database" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
