"""Spelling corrections are reported: ``corrected`` is the query as searched, or null."""

import dataclasses

from click.testing import CliRunner

from helpapi.cli import main
from helpapi.openapi import spec
from helpapi.query import corrected_text
from helpapi.query import parse_user_text
from helpapi.search import search


def test_typo_reports_the_query_as_searched(client):
    body = client.get("/v1/search?q=pasword%20reset&locale=en-US").get_json()
    assert body["corrected"] == "password reset"
    assert body["query"] == "pasword reset"
    assert body["total"] and body["fallback"] is False


def test_exact_query_reports_null(client):
    body = client.get("/v1/search?q=password%20reset&locale=en-US").get_json()
    assert body["total"] and body["corrected"] is None


def test_nothing_found_reports_null(client):
    body = client.get("/v1/search?q=qqxxzzvv&locale=en-US").get_json()
    assert body["total"] == 0 and body["corrected"] is None


def test_only_the_corrected_word_changes(ixset):
    # Case, spacing and the other words stay as typed; only the fixed word is replaced.
    found = search(ixset, "Reset  the Pasword", "en-US")
    assert found["corrected"] == "Reset  the password"


def test_localized_typo(ixset):
    found = search(ixset, "Kennwrt", "de-DE")
    assert found["locale"] == "de-DE" and found["fallback"] is False
    assert found["corrected"] == "kennwort"


def test_fallback_to_english_with_correction(client):
    # pt-BR is not indexed: English answers, corrected.
    body = client.get("/v1/search?q=passwrd&locale=pt-BR").get_json()
    assert body["locale"] == "en-US" and body["fallback"] is True
    assert body["corrected"] == "password"
    assert body["total"] >= 1


def test_cached_answer_keeps_correction(client):
    first = client.get("/v1/search?q=outlok&locale=de-DE").get_json()
    again = client.get("/v1/search?q=OUTLOK&locale=de-DE").get_json()  # same cache entry
    assert first["corrected"] == again["corrected"] == "outlook"
    assert again["query"] == "OUTLOK"


def test_cli_prints_the_correction(corpus_index):
    run = CliRunner().invoke
    out = run(main, ["search", "pasword reset", "--index", str(corpus_index)]).output
    assert "Showing results for: password reset" in out
    out = run(main, ["search", "password reset", "--index", str(corpus_index)]).output
    assert "Showing results for" not in out


def test_corrected_text_keeps_the_rest_as_typed():
    units = parse_user_text('Pasword "for Outlok" now', "en-US")
    fixed = list(units)
    fixed[0] = dataclasses.replace(units[0], term="password")
    fixed[2] = dataclasses.replace(units[2], term="outlook")
    assert corrected_text('Pasword "for Outlok" now', units, fixed) == 'password "for outlook" now'


def test_openapi_documents_corrected():
    props = spec()["components"]["schemas"]["SearchResults"]["properties"]
    assert props["corrected"]["type"] == ["string", "null"]
