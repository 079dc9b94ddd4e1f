"""Translation coverage from the serving generation's catalogs: index stats and the admin route."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from helpapi import create_app
from helpapi import generations
from helpapi.cli import main
from helpapi.content import check_corpus
from helpapi.content import index_coverage
from helpapi.indexer import build_indexes

from .test_corpus_check import FILES
from .test_corpus_check import write_files

TOKEN = "s3cret-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The fixture corpus of test_corpus_check and its index (built once for this module)."""
    root = tmp_path_factory.mktemp("coverage")
    corpus = write_files(root / "corpus", FILES)
    index = root / "index"
    build_indexes(corpus, index, jobs=1)
    return corpus, index


def serving_meta(index):
    return generations.read_meta(index / generations.current_generation(index))


def by_locale(cov):
    return {c.locale: c for c in cov.locales}


def test_coverage_from_catalogs(built):
    _, index = built
    cov = index_coverage(serving_meta(index))
    assert cov.problem is None
    # The English index: the source folder's six files plus the English of fr-FR's sxs file.
    assert (cov.sources, cov.from_folder) == (7, 6)
    de = by_locale(cov)["de-DE"]
    assert de.articles == 7
    assert de.missing == ["only-english", "sxs-only"]
    assert de.no_source == ["nur-deutsch"]
    assert de.outdated == [("reset-password", "reset-password", "2024-01-15", "2024-03-01")]
    assert (de.linked, de.undated, de.inline) == (6, 3, 0)
    fr = by_locale(cov)["fr-FR"]
    assert fr.articles == 1 and fr.inline == 1 and fr.outdated == []
    assert "en-US" not in by_locale(cov)


def test_catalog_coverage_agrees_with_the_corpus_check(built):
    """The index's view (catalogs) and the check's view (parsed files) are the same."""
    corpus, index = built
    from_index = by_locale(index_coverage(serving_meta(index)))
    for check in check_corpus(corpus).locales:
        if check.source:
            continue
        mine, theirs = check.coverage, from_index[check.locale]
        assert (mine.missing, mine.no_source, mine.outdated) == (
            theirs.missing,
            theirs.no_source,
            theirs.outdated,
        )
        assert (mine.linked, mine.undated, mine.inline) == (
            theirs.linked,
            theirs.undated,
            theirs.inline,
        )


def test_old_generation_without_catalog_says_so():
    cov = index_coverage({"generation": "g1", "locales": {"de-DE": {"articles": 3}}})
    assert cov.locales == []
    assert "no en-US catalog" in cov.as_dict()["problem"]


def test_index_stats_prints_coverage(built):
    _, index = built
    result = CliRunner().invoke(main, ["index", "stats", "--index", str(index), "--slugs", "5"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "translation coverage against 7 English articles (6 from the source folder" in out
    table = out[out.index("translation coverage") :]
    row = next(line for line in table.splitlines() if line.startswith("de-DE "))
    assert row.split() == ["de-DE", "7", "6", "2", "1", "1", "3"]
    assert "de-DE missing only-english" in out
    assert "de-DE outdated reset-password (2024-01-15; source reset-password 2024-03-01)" in out
    assert "cannot be told" in out


@pytest.fixture
def admin_client(built):
    corpus, index = built
    app = create_app({"INDEX_DIR": str(index), "CORPUS_DIR": str(corpus), "ADMIN_TOKEN": TOKEN})
    yield app.test_client()
    app.extensions["helpapi.indexes"].close()


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer wrong"}, 401), (AUTH, 200)],
)
def test_admin_coverage_auth(admin_client, headers, status):
    assert admin_client.get("/v1/admin/coverage", headers=headers).status_code == status


def test_admin_coverage_disabled_without_token(built):
    corpus, index = built
    app = create_app({"INDEX_DIR": str(index), "CORPUS_DIR": str(corpus)})
    try:
        resp = app.test_client().get("/v1/admin/coverage", headers=AUTH)
        assert resp.status_code == 403
    finally:
        app.extensions["helpapi.indexes"].close()


def test_admin_coverage_report(admin_client):
    body = admin_client.get("/v1/admin/coverage", headers=AUTH).get_json()
    assert body["source"] == {"articles": 7, "from_source_folder": 6, "from_sxs_english": 1}
    assert body["source_locale"] == "en-US"
    assert [c["locale"] for c in body["locales"]] == ["de-DE", "fr-FR"]
    de = body["locales"][0]
    assert de["missing"] == ["only-english", "sxs-only"]
    assert de["outdated"] == [
        {
            "slug": "reset-password",
            "source": "reset-password",
            "updated": "2024-01-15",
            "source_updated": "2024-03-01",
        }
    ]
    assert de["undated"] == 3 and "cannot be told for 3" in de["dates"]


def test_admin_coverage_locale_filter_and_limit(admin_client):
    resp = admin_client.get("/v1/admin/coverage?locale=de_de&limit=1", headers=AUTH)
    assert resp.status_code == 200
    (de,) = resp.get_json()["locales"]
    assert de["locale"] == "de-DE"
    assert de["missing"] == ["only-english"] and de["missing_count"] == 2


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("locale=xx-YY", "locale"),
        ("locale=en-US", "locale"),
        ("limit=abc", "limit"),
        ("limit=-1", "limit"),
        ("limit=100001", "limit"),
    ],
)
def test_admin_coverage_bad_parameters(admin_client, query, parameter):
    resp = admin_client.get(f"/v1/admin/coverage?{query}", headers=AUTH)
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    assert err["code"] == "invalid_parameter" and err["parameter"] == parameter


def test_admin_coverage_without_index_is_503(tmp_path):
    app = create_app({"INDEX_DIR": str(tmp_path / "none"), "ADMIN_TOKEN": TOKEN})
    try:
        resp = app.test_client().get("/v1/admin/coverage", headers=AUTH)
        assert resp.status_code == 503
        assert resp.get_json()["error"]["code"]
    finally:
        app.extensions["helpapi.indexes"].close()


def test_admin_coverage_follows_a_new_generation(tmp_path):
    corpus = write_files(tmp_path / "corpus", FILES)
    index = tmp_path / "index"
    build_indexes(corpus, index, jobs=1)
    app = create_app({"INDEX_DIR": str(index), "CORPUS_DIR": str(corpus), "ADMIN_TOKEN": TOKEN})
    try:
        client = app.test_client()
        url = "/v1/admin/coverage?locale=de-DE"
        assert client.get(url, headers=AUTH).get_json()["locales"][0]["missing_count"] == 2
        write_files(corpus, {"de-DE/only-english.md": "# Nur Englisch\n\nJetzt auch.\n"})
        build_indexes(corpus, index, jobs=1)
        (de,) = client.get(url, headers=AUTH).get_json()["locales"]
        assert de["missing"] == ["sxs-only"]
    finally:
        app.extensions["helpapi.indexes"].close()
