"""A filter that no article of the locale passes removes every match too (stop 20).

Stop 19 (tests/test_filter_subset19*.py): a filter only removes matches, so a locale whose
matches the filter removed answers nothing (``filtered_out: true``), with no relaxed pass over
the other articles and no English fallback. But a filter that no article of the locale passes
(a value none has, ``audience:Nobody``, an unknown product, two fields' values no article has
together) returned before the passes ran and answered from English (``fallback: true``,
``filtered_out: false``, counted as a zero-result search), while ``audience:ITPro``, which
some article has, answered ``filtered_out: true``. Both remove every match: same answer.

The English fallback still applies where it did (the query matches nothing in the locale, or
the locale is not indexed), with the filter applied in English: there it removes every
English match just the same.
"""

from __future__ import annotations

import json
import logging
import sqlite3

import pytest

from helpapi import metrics

from .test_facets import md
from .test_synonyms import AUTH
from .test_synonyms import TOKEN

FACETS = "ms.audience,ms.service,ms.products"


def _articles() -> dict:
    """End User and ITPro articles in en-US and fr-FR, with products (``transport rules`` in
    en-US only)."""
    en = {
        "reset": md(
            "Reset the mailbox password",
            "Reset the password.",
            audience="End User",
            products=["Outlook"],
        ),
        "quota": md(
            "Mailbox quota", "Raise the mailbox quota.", audience="ITPro", products=["Exchange"]
        ),
        "rules": md(
            "Transport rules",
            "Configure the transport rules.",
            audience="ITPro",
            products=["Exchange"],
        ),
    }
    fr = {
        "reset": md(
            "Réinitialiser le mot de passe",
            "Le mot de passe.",
            audience="End User",
            products=["Outlook"],
        ),
        "quota": md(
            "Quota de boîte aux lettres",
            "Le quota de la boîte.",
            audience="ITPro",
            products=["Exchange"],
        ),
    }
    return {"en-US": en, "fr-FR": fr}


@pytest.fixture
def client(make_corpus, make_app, tmp_path, monkeypatch):
    monkeypatch.setenv("HELPAPI_FACETS", FACETS)
    app = make_app(
        make_corpus(_articles()),
        ADMIN_TOKEN=TOKEN,
        ANALYTICS_DB=str(tmp_path / "analytics.db"),
    )
    return app.test_client()


def _search(client, q, locale="fr-FR", filters=(), **params):
    query = {"q": q, "locale": locale, **params}
    response = client.get(
        "/v1/search", query_string=[*query.items()] + [("filter", f) for f in filters]
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _shape(body) -> tuple:
    return body["locale"], body["fallback"], body["total"], body["results"], body["filtered_out"]


# A value some fr-FR article has (the stop 19 case) and filters no fr-FR article passes.
NONE_PASS = [
    ["audience:Nobody"],
    ["products:No such product"],
    ["audience:ITPro", "products:Outlook"],  # each value exists, no article has both
]


@pytest.mark.parametrize("filters", [["audience:ITPro"], *NONE_PASS])
def test_a_filter_no_article_passes_removes_the_matches_like_any_other(client, filters):
    plain = _search(client, "réinitialiser le mot de passe")
    assert [r["slug"] for r in plain["results"]] == ["reset"]
    body = _search(client, "réinitialiser le mot de passe", filters=filters)
    assert _shape(body) == ("fr-FR", False, 0, [], True)


@pytest.mark.parametrize("filters", NONE_PASS)
def test_the_relaxed_matches_too(client, filters):
    # No fr-FR article holds both words: the relaxed pass answers "reset" unfiltered.
    plain = _search(client, "réinitialiser boîte zzq")
    assert plain["locale"] == "fr-FR" and plain["total"] > 0
    body = _search(client, "réinitialiser boîte zzq", filters=filters)
    assert _shape(body) == ("fr-FR", False, 0, [], True)


@pytest.mark.parametrize("filters", NONE_PASS)
def test_the_facet_counts_say_where_the_matches_are(client, filters):
    wanted = {"facets": "audience,products"}
    itpro = _search(client, "réinitialiser le mot de passe", filters=["audience:ITPro"], **wanted)
    body = _search(client, "réinitialiser le mot de passe", filters=filters, **wanted)
    counts = {k: {r["value"]: r["count"] for r in v} for k, v in body["facets"].items()}
    # A field's counts leave out its own filter: the fr-FR match's values are listed.
    if filters == ["audience:Nobody"]:
        assert counts == {"audience": {"end user": 1}, "products": {}}
        assert body["facets"] == itpro["facets"]
    elif filters == ["products:No such product"]:
        assert counts == {"audience": {}, "products": {"outlook": 1}}
    else:
        # Outlook without the ITPro filter: the End User match; ITPro without Outlook: none.
        assert counts == {"audience": {"end user": 1}, "products": {}}


@pytest.mark.parametrize("filters", [["audience:ITPro"], *NONE_PASS])
def test_english_fallback_applies_the_filter_in_english(client, filters):
    # "transport rules" matches no fr-FR article: English answers, filtered the same way.
    plain = _search(client, "transport rules")
    assert (plain["locale"], plain["fallback"]) == ("en-US", True)
    assert [r["slug"] for r in plain["results"]] == ["rules"]
    body = _search(client, "transport rules", filters=filters)
    if filters == ["audience:ITPro"]:
        assert [r["slug"] for r in body["results"]] == ["rules"]
    else:
        assert _shape(body) == ("en-US", True, 0, [], True)
    # A locale not indexed answers from English: its one match is an End User article.
    body = _search(client, "reset the mailbox password", locale="de-DE", filters=filters)
    assert _shape(body) == ("en-US", True, 0, [], True)


def test_a_query_matching_nothing_anywhere_is_still_a_zero_result_search(client):
    body = _search(client, "zzyzx qqxq", filters=["audience:Nobody"])
    assert _shape(body) == ("en-US", True, 0, [], False)


def _zero_count(locale: str) -> float:
    return metrics.ZERO.labels(locale)._value.get()


def test_analytics_metrics_and_the_access_log_count_it_as_filtered_out(client, tmp_path, caplog):
    caplog.set_level(logging.INFO, "helpapi.access")
    zeros = _zero_count("fr-FR"), _zero_count("en-US")
    _search(client, "réinitialiser le mot de passe", filters=["audience:Nobody"])
    assert (_zero_count("fr-FR"), _zero_count("en-US")) == zeros
    _search(client, "zzyzx qqxq", filters=["audience:Nobody"])
    client.application.extensions["helpapi.analytics"].flush()
    conn = sqlite3.connect(tmp_path / "analytics.db")
    rows = conn.execute(
        "SELECT query, locale, fallback, total, filtered_out FROM searches ORDER BY ts"
    ).fetchall()
    conn.close()
    assert rows == [
        ("réinitialiser le mot de passe", "fr-FR", 0, 0, 1),
        ("zzyzx qqxq", "en-US", 1, 0, 0),
    ]
    response = client.get("/v1/admin/insights/zero-results", headers=AUTH)
    assert {r["query"] for r in response.get_json()["zero_results"]} == {"zzyzx qqxq"}
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "helpapi.access"]
    filtered, missing = [line for line in lines if line.get("route") == "/v1/search"][-2:]
    assert (filtered["locale"], filtered["hits"], filtered["zero"]) == ("fr-FR", 0, False)
    assert (missing["hits"], missing["zero"]) == (0, True)
