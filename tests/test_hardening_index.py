"""A damaged index never takes the service down (issue #12, item 4).

Each fault is made on a copy of a small built index: a truncated ``postings.bin`` (mmapped), a
truncated Whoosh segment, a bad ``CURRENT`` (garbage, absolute path, ``../x``, empty), a missing
``meta.json``. Every route must answer JSON without a 500, ``/readyz`` must name the damage, and
the next build (full, partial or incremental) must rebuild the damaged locale, never link it.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpapi import create_app
from helpapi import generations
from helpapi import memindex
from helpapi.incremental import plan_changes
from helpapi.indexer import build_indexes
from helpapi.search import IndexSet
from helpapi.service import IndexHolder

from .conftest import build_files
from .conftest import serving_generation
from .conftest import sxs_article

ROOT = Path(__file__).resolve().parent.parent


def _article(word, english, assetid):
    return sxs_article(
        f"Titel {word}", f"Title {english}", [(f"Text {word}.", f"Text {english}.")], assetid
    )


FILES = {
    "de-DE": {
        "a": _article("Apfel", "apple", "11111111-0000-0000-0000-000000000001"),
        "b": _article("Birne", "pear", "11111111-0000-0000-0000-000000000002"),
    },
    "fr-FR": {
        "a": _article("pomme", "apple", "11111111-0000-0000-0000-000000000001"),
        "b": _article("poire", "pear", "11111111-0000-0000-0000-000000000002"),
    },
}
ROUTES = (
    "/v1/search?q=Apfel&locale=de-DE",
    "/v1/search?q=apple&locale=en-US",
    "/v1/articles/a?locale=de-DE",
    "/v1/articles/a?locale=en-US",
    "/v1/locales",
    "/readyz",
    "/healthz",
)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A corpus and its index, built once; tests damage copies of it."""
    return build_files(tmp_path_factory, "hardening", FILES)


@pytest.fixture
def index(built, tmp_path):
    """A private copy of the built index (same generation name)."""
    shutil.copytree(built[1], tmp_path / "ix")
    return tmp_path / "ix"


@pytest.fixture
def corpus(built):
    return built[0]


def _segment(locale_dir: Path) -> Path:
    (seg,) = locale_dir.glob("*.seg")
    return seg


def _truncate(path: Path, keep: float = 0.5) -> None:
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(int(size * keep))


def _flip_byte(path: Path) -> None:
    """Damage a file without changing its size (only a checksum notices)."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _answers(index: Path, corpus: Path) -> dict[str, tuple[int, dict]]:
    app = create_app({"TESTING": True, "INDEX_DIR": str(index), "CORPUS_DIR": str(corpus)})
    client = app.test_client()
    try:
        out = {}
        for route in ROUTES:
            resp = client.get(route)
            out[route] = (resp.status_code, resp.get_json())
        return out
    finally:
        app.extensions["helpapi.indexes"].close()


def _assert_no_500(answers):
    for route, (status, body) in answers.items():
        assert status != 500, (route, body)
        assert isinstance(body, dict), route


# -- meta.json records every file ------------------------------------------------------------


def test_meta_records_size_and_checksum_of_every_file(built):
    gen = serving_generation(built[1])
    meta = generations.read_meta(gen)
    assert set(meta["locales"]) == {"de-DE", "fr-FR", "en-US"}
    for loc, info in meta["locales"].items():
        on_disk = {
            p.relative_to(gen / loc).as_posix(): p for p in (gen / loc).rglob("*") if p.is_file()
        }
        assert set(info["files"]) == set(on_disk), loc
        for rel, (size, digest) in info["files"].items():
            assert size == on_disk[rel].stat().st_size
            assert digest == generations.file_digest(on_disk[rel])
        assert generations.verify_locale(gen, loc, info["files"]) is None


# -- finding 1: a truncated postings.bin -----------------------------------------------------

_CHILD = """
import json, sys
from helpapi import create_app
app = create_app({"TESTING": True, "INDEX_DIR": sys.argv[1], "CORPUS_DIR": sys.argv[2]})
client = app.test_client()
out = {}
for route in json.loads(sys.argv[3]):
    resp = client.get(route)
    out[route] = [resp.status_code, resp.get_json()]
print(json.dumps(out))
"""


def test_truncated_postings_never_kills_a_worker(index, corpus):
    # In a child process: a SIGBUS (or any crash) kills the child only, and shows as its status.
    _truncate(serving_generation(index) / "de-DE" / memindex.FILENAME)
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(index), str(corpus), json.dumps(ROUTES)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    answers = {k: tuple(v) for k, v in json.loads(child.stdout).items()}
    _assert_no_500(answers)
    status, body = answers["/readyz"]
    assert status == 503
    assert body["error"]["locales"]["de-DE"].startswith("postings.bin")
    assert "de-DE" in body["error"]["message"]
    # The damaged locale is not served: German answers from English, and says so.
    status, body = answers["/v1/search?q=Apfel&locale=de-DE"]
    assert status == 200 and body["locale"] == "en-US" and body["fallback"] is True
    status, body = answers["/v1/articles/a?locale=de-DE"]
    assert status == 200 and body["locale"] == "en-US" and body["fallback"] is True
    assert "de-DE" not in body["locales"]
    assert answers["/healthz"][0] == 200
    assert answers["/v1/search?q=apple&locale=en-US"][0] == 200


@pytest.mark.parametrize("keep", [0, 4, 11, 0.01, 0.5, 0.99])
def test_memindex_refuses_a_truncated_file(index, keep):
    path = serving_generation(index) / "de-DE" / memindex.FILENAME
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(keep if isinstance(keep, int) else int(size * keep))
    with pytest.raises(memindex.DamagedPostings):
        memindex.MemIndex.open(path.parent)


def test_memindex_refuses_a_section_past_the_end(tmp_path):
    spec = {
        "terms": [0, 0, "B"],
        "term_off": [0, 4, "I"],
        "post_off": [8, 4, "I"],
        "docs": [16, 64, "H"],  # 16 bytes of body: this one ends past the end
    }
    head = json.dumps({"version": memindex.VERSION, "docs": 1, "fields": {"text": spec}}).encode()
    raw = memindex._MAGIC + len(head).to_bytes(4, "little") + head
    (tmp_path / memindex.FILENAME).write_bytes(raw + b"\0" * (-len(raw) % 8) + b"\0" * 16)
    with pytest.raises(memindex.DamagedPostings, match="past the end"):
        memindex.MemIndex.open(tmp_path)


def test_incremental_build_repairs_a_truncated_postings(index, corpus):
    gen = serving_generation(index)
    _truncate(gen / "de-DE" / memindex.FILENAME)
    plan = plan_changes(corpus, index)
    assert plan.locales == ["de-DE"] and "postings.bin" in plan.damaged["de-DE"]
    report = build_indexes(corpus, index, jobs=1, incremental=True)
    assert report.switched and set(report.locales) == {"de-DE"}
    with IndexSet(index, report.generation) as ixset:
        assert ixset.damaged == {} and "de-DE" in ixset.locales
    assert plan_changes(corpus, index).empty


# -- finding 2: a truncated Whoosh segment ---------------------------------------------------


def test_truncated_whoosh_segment_is_reported_and_not_served(index, corpus):
    seg = _segment(serving_generation(index) / "fr-FR")
    _truncate(seg)
    answers = _answers(index, corpus)
    _assert_no_500(answers)
    status, body = answers["/readyz"]
    assert status == 503 and seg.name in body["error"]["locales"]["fr-FR"]
    assert [x["locale"] for x in answers["/v1/locales"][1]["locales"]] == ["de-DE", "en-US"]


@pytest.mark.parametrize("damage", [_truncate, _flip_byte])
def test_partial_build_rebuilds_a_damaged_locale_instead_of_linking_it(index, corpus, damage):
    old = serving_generation(index)
    seg = _segment(old / "fr-FR")
    damage(seg)
    kept = _segment(old / "en-US")
    report = build_indexes(corpus, index, locales=["de-DE"], jobs=1)
    assert set(report.locales) == {"de-DE", "fr-FR"}  # fr-FR rebuilt, not carried
    new = index / report.generation
    old_inodes = {p.stat().st_ino for p in (old / "fr-FR").iterdir()}
    assert not old_inodes & {p.stat().st_ino for p in (new / "fr-FR").iterdir()}
    assert _segment(new / "fr-FR").read_bytes() != seg.read_bytes()
    # A sound locale is still carried over by hard link, with its recorded files.
    assert (new / "en-US" / kept.name).stat().st_ino == kept.stat().st_ino
    files = [generations.read_meta(g)["locales"]["en-US"]["files"] for g in (old, new)]
    assert files[0] == files[1]
    with IndexSet(index, report.generation) as ixset:
        assert ixset.damaged == {} and ixset.locales == ["de-DE", "en-US", "fr-FR"]


def test_full_build_repairs_a_damaged_segment(index, corpus):
    _truncate(_segment(serving_generation(index) / "fr-FR"))
    report = build_indexes(corpus, index, jobs=1)
    answers = _answers(index, corpus)
    assert answers["/readyz"][0] == 200
    assert answers["/readyz"][1]["generation"] == report.generation


def test_incremental_plan_sees_a_flipped_byte(index, corpus):
    _flip_byte(_segment(serving_generation(index) / "en-US"))
    plan = plan_changes(corpus, index)
    assert plan.locales == ["en-US"] and "checksum" in plan.damaged["en-US"]


# -- finding 3: CURRENT ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "pointer", ["\x00garbage\xff", "g2026/../../etc", "../x", "ABSOLUTE", "", "g20990101-000000"]
)
def test_a_bad_current_keeps_the_newest_valid_generation_serving(index, corpus, pointer, caplog):
    good = serving_generation(index).name
    if pointer == "ABSOLUTE":
        # A complete generation outside the index folder: never followed.
        outside = index.parent / "outside" / generations.new_generation_name()
        shutil.copytree(index / good, outside)
        pointer = str(outside)
    (index / "CURRENT").write_bytes(pointer.encode("utf-8", "surrogateescape"))
    assert generations.current_generation(index) is None
    with caplog.at_level(logging.WARNING, "helpapi"):
        answers = _answers(index, corpus)
    _assert_no_500(answers)
    status, body = answers["/readyz"]
    assert status == 200 and body["generation"] == good
    assert "CURRENT" in body["warnings"][0]
    assert answers["/v1/search?q=Apfel&locale=de-DE"][0] == 200
    assert any("CURRENT" in r.getMessage() for r in caplog.records)


def test_the_holder_keeps_its_generation_when_current_goes_bad(index, built, corpus, tmp_path):
    holder = IndexHolder(str(index))
    try:
        first = holder.get()
        # A second, newer generation appears, then CURRENT is overwritten with garbage:
        # the holder keeps what it had rather than jumping to another generation.
        shutil.copytree(serving_generation(index), index / generations.new_generation_name())
        (index / "CURRENT").write_text("garbage\n")
        assert holder.get() is first
        assert "CURRENT" in holder.problem
    finally:
        holder.close()


def test_empty_current_without_a_generation_says_so(index, corpus):
    shutil.rmtree(serving_generation(index))
    (index / "CURRENT").write_text("")
    answers = _answers(index, corpus)
    _assert_no_500(answers)
    for route in ROUTES[:-1]:
        status, body = answers[route]
        assert status == 503, route
        assert "CURRENT is empty" in body["error"]["message"]
        assert "No index has been built yet" not in body["error"]["message"]
    assert answers["/healthz"][0] == 200


def test_missing_meta_json_gives_503_with_the_reason(index, corpus):
    (serving_generation(index) / "meta.json").unlink()
    answers = _answers(index, corpus)
    _assert_no_500(answers)
    status, body = answers["/readyz"]
    assert status == 503 and "meta.json" in body["error"]["message"]
    # The next incremental build cannot trust that generation: it builds every locale.
    report = build_indexes(corpus, index, jobs=1, incremental=True)
    assert set(report.locales) == {"de-DE", "fr-FR", "en-US"}
    assert _answers(index, corpus)["/readyz"][0] == 200


def test_no_index_at_all_still_says_so(tmp_path, corpus):
    answers = _answers(tmp_path / "empty", corpus)
    _assert_no_500(answers)
    assert "No index has been built yet" in answers["/readyz"][1]["error"]["message"]


def test_english_damaged_gives_503_not_an_empty_answer(index, corpus):
    _truncate(_segment(serving_generation(index) / "en-US"))
    answers = _answers(index, corpus)
    _assert_no_500(answers)
    assert answers["/v1/search?q=Apfel&locale=de-DE"][0] == 200
    status, body = answers["/v1/search?q=apple&locale=en-US"]
    assert status == 503 and body["error"]["code"] == "locale_unavailable"
    assert answers["/v1/articles/a?locale=de-DE"][0] == 200
    assert answers["/v1/articles/a?locale=en-US"][0] == 503


def test_same_size_damage_whoosh_cannot_read_answers_503_not_500(index, corpus):
    # The open-time check compares sizes only; what it cannot see fails when searched.
    seg = _segment(serving_generation(index) / "fr-FR")
    seg.write_bytes(b"\0" * seg.stat().st_size)
    answers = _answers(index, corpus)
    _assert_no_500(answers)
    app = create_app({"TESTING": True, "INDEX_DIR": str(index), "CORPUS_DIR": str(corpus)})
    try:
        resp = app.test_client().get("/v1/search?q=pomme&locale=fr-FR")
        assert resp.status_code == 503
        assert resp.get_json()["error"]["locale"] == "fr-FR"
    finally:
        app.extensions["helpapi.indexes"].close()
    # The next incremental build sees the checksum differ and rebuilds it.
    assert "fr-FR" in plan_changes(corpus, index).damaged


_GUARD_CHILD = """
import json, sys
from pathlib import Path
from helpapi import create_app
app = create_app({"TESTING": True, "INDEX_DIR": sys.argv[1], "CORPUS_DIR": sys.argv[2]})
client = app.test_client()
first = client.get("/v1/search?q=Apfel&locale=de-DE").status_code
with open(sys.argv[3], "r+b") as fh:  # truncated in place while mapped
    fh.truncate(64)
after = client.get("/v1/search?q=Birne&locale=de-DE")
ready = client.get("/readyz")
print(json.dumps([first, after.status_code, after.get_json(), ready.status_code]))
"""


def test_postings_truncated_after_mapping_is_refused_not_read(index, corpus):
    # Reading the mapped pages now would SIGBUS; the guard (one fstat per search) refuses.
    path = serving_generation(index) / "de-DE" / memindex.FILENAME
    child = subprocess.run(
        [sys.executable, "-c", _GUARD_CHILD, str(index), str(corpus), str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    first, status, body, ready = json.loads(child.stdout)
    assert first == 200 and status == 503 and ready == 503
    assert body["error"]["code"] == "locale_unavailable"
