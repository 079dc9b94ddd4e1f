"""Filters, facets and sorting (issue 18, items 2, 5, 6): front-matter labels, the side file,
exact totals under filters, OR/AND semantics, disjunctive counts, normalization, errors,
sort=updated, filters with synonyms and rules, answers unchanged without them, and gunicorn."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest

from helpapi import create_app
from helpapi import facets
from helpapi.corpus import label_values
from helpapi.corpus import parse_text
from helpapi.indexer import build_indexes
from helpapi.search import open_current
from helpapi.search import search

from .test_widget_v2 import browser  # noqa: F401  (fixtures of the widget's browser tests)
from .test_widget_v2 import page  # noqa: F401


def md(title: str, body: str, date: str | None = None, **meta) -> str:
    lines = [f"title: {title}"]
    if date:
        lines.append(f"ms.date: {date}")
    for key, value in meta.items():
        key = "ms." + key
        if isinstance(value, list):
            lines.append(f"{key}:")
            lines += [f"  - {v}" for v in value]
        else:
            lines.append(f"{key}: {value}")
    front = "\n".join(lines)
    return f"---\n{front}\n---\n# {title}\n\n{body}\n"


ARTICLES = {
    "en-US": {
        "reset-admin-password": md(
            "Reset a user password",
            "Admins reset the password of a user in the admin center.",
            "03/01/2021",
            audience="Admin",
            service="o365-administration",
        ),
        "change-password": md(
            "Change your password",
            "Change the password of your own account.",
            "06/15/2022",
            audience="End User",
            service="outlook",
        ),
        "password-policy": md(
            "Set the password policy",
            "The password expiration policy for your organization.",
            "01/10/2020",
            audience=" admin ",  # another spelling of Admin
            service="o365-administration",
            collection=["Adm_O365", "Security"],
        ),
        "itpro-password-sync": md(
            "Password hash sync",
            "Password hash synchronization with directory sync.",
            None,  # undated
            audience="ITPro, Admin",
            service="azure-ad",
        ),
        "printer": md(
            "Add a printer",
            "Connect a printer to your computer.",
            "02/02/2023",
            audience="End User",
            service="windows",
        ),
        "mfa-setup": md(
            "Set up MFA",
            "Turn on MFA for your organization.",
            "04/04/2021",
            audience="Admin",
            service="azure-ad",
        ),
        "two-step": md(
            "Two-step verification",
            "Use two-step verification when you sign in.",
            "09/09/2022",
            audience="End User",
            service="azure-ad",
        ),
    },
}


@pytest.fixture
def corpus(make_corpus):
    return make_corpus(ARTICLES)


@pytest.fixture
def index(corpus, tmp_path):
    index = tmp_path / "ix"
    build_indexes(corpus, index, jobs=1)
    return index


@pytest.fixture
def app(corpus, index):
    app = create_app({"INDEX_DIR": str(index), "CORPUS_DIR": str(corpus)})
    yield app
    app.extensions["helpapi.indexes"].close()


def get(client, **params) -> dict:
    params = {"locale": "en-US", **params}
    resp = client.get("/v1/search?" + urllib.parse.urlencode(params, doseq=True))
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def slugs(body) -> list[str]:
    return [r["slug"] for r in body["results"]]


# --- Front matter ------------------------------------------------------------------------------


def test_label_values_accept_scalars_comma_lists_and_flat_lists():
    assert label_values("Admin") == ["Admin"]
    assert label_values("ITPro, Admin") == ["ITPro", "Admin"]
    assert label_values(["Adm_O365", "Security", "adm_o365"]) == ["Adm_O365", "Security"]
    assert label_values({"nested": "map"}) == []
    assert label_values([["nested"], True, None, "x"]) == ["x"]
    assert label_values(None) == []
    assert len(label_values([f"v{i}" for i in range(500)])) == 32
    assert len(label_values("y" * 5000)[0]) == 100


def test_articles_keep_the_configured_facet_fields_only(monkeypatch):
    text = md("T", "b", audience="Admin", service="svc", collection=["A", "B"])
    assert parse_text(text, "en-US", "t").labels == {
        "ms.audience": ["Admin"],
        "ms.service": ["svc"],
        "ms.collection": ["A", "B"],
    }
    monkeypatch.setenv("HELPAPI_FACETS", "ms.service")
    assert parse_text(text, "en-US", "t").labels == {"ms.service": ["svc"]}


# --- The side file -----------------------------------------------------------------------------


def test_the_build_writes_a_checked_facets_file_beside_postings(index):
    with open_current(index) as ixset:
        folder = ixset.path / "en-US"
        assert (folder / facets.FILENAME).exists()
        assert facets.check(folder) is None
        data = ixset.facets["en-US"]
        # Normalized values, the most common spelling displayed, one per document.
        label, docs = data.fields["audience"]["admin"]
        assert label == "Admin" and len(docs) == 4
        assert set(data.fields) == {"audience", "service", "collection"}
        assert "security" in data.fields["collection"]
        assert sorted(d for d in data.updated if d) == sorted(
            [20210301, 20220615, 20200110, 20230202, 20210404, 20220909]
        )
        assert data.updated.count(0) == 1


def test_a_facets_file_of_another_version_is_not_served(index):
    with open_current(index) as ixset:
        folder = ixset.path / "en-US"
    path = folder / facets.FILENAME
    lines = path.read_text("utf-8").split("\n", 1)
    header = json.loads(lines[0])
    path.write_text(json.dumps({**header, "version": 99}) + "\n" + lines[1], "utf-8")
    assert "version 99" in facets.check(folder)
    with open_current(index) as ixset:
        assert "en-US" in ixset.damaged


def test_carried_locales_are_rebuilt_when_the_facet_fields_change(index):
    with open_current(index) as ixset:
        folder = ixset.path / "en-US"
    assert facets.check(folder, ("ms.audience", "ms.service", "ms.collection")) is None
    assert "other facet fields" in facets.check(folder, ("ms.audience",))


# --- Filters -----------------------------------------------------------------------------------


def test_no_filter_leaves_the_answer_unchanged(client, app):
    plain = get(client, q="password")
    assert "facets" not in plain
    with open_current(app.config["INDEX_DIR"]) as ixset:
        direct = search(ixset, "password", "en-US")
        assert [r["slug"] for r in direct["results"]] == slugs(plain)
        assert search(ixset, "password", "en-US", scope=facets.Scope()) == direct


def test_a_filter_restricts_before_paging_so_total_is_exact(client):
    assert get(client, q="password")["total"] == 4
    body = get(client, q="password", filter="audience:Admin", limit=1)
    # Admin: reset-admin-password, password-policy (" admin "), itpro-password-sync (list).
    assert body["total"] == 3
    assert len(body["results"]) == 1
    pages = [
        slugs(get(client, q="password", filter="audience:Admin", limit=1, offset=i))
        for i in range(3)
    ]
    assert sorted(sum(pages, [])) == [
        "itpro-password-sync",
        "password-policy",
        "reset-admin-password",
    ]


def test_values_match_case_and_space_insensitively(client):
    a = get(client, q="password", filter="audience:admin")
    b = get(client, q="password", filter="audience:  ADMIN ")
    assert slugs(a) == slugs(b) and a["total"] == 3


def test_or_within_a_field_and_across_fields(client):
    body = get(client, q="password", filter=["audience:ITPro", "audience:End User"])
    assert sorted(slugs(body)) == ["change-password", "itpro-password-sync"]
    comma = get(client, q="password", filter="audience:ITPro,End User")
    assert sorted(slugs(comma)) == sorted(slugs(body))
    both = get(client, q="password", filter=["audience:Admin", "service:o365-administration"])
    assert sorted(slugs(both)) == ["password-policy", "reset-admin-password"]
    assert both["total"] == 2


def test_a_filter_matching_nothing_gives_zero(client):
    body = get(client, q="password", filter="service:windows")
    assert body["total"] == 0 and body["results"] == []


def test_the_relaxed_pass_stays_inside_the_filter(client):
    # No document has both words: the relaxed pass answers, within the filter only.
    body = get(client, q="password printer", filter="audience:End User")
    assert body["total"] >= 1
    assert set(slugs(body)) <= {"change-password", "printer", "two-step"}


def test_unknown_facet_names_get_a_400_naming_the_known_ones(client):
    for params in ({"filter": "product:x"}, {"facets": "audience,product"}):
        resp = client.get("/v1/search?" + urllib.parse.urlencode({"q": "password", **params}))
        assert resp.status_code == 400
        body = resp.get_json()["error"]
        assert body["code"] == "invalid_parameter"
        assert "audience, collection, service" in body["message"]


@pytest.mark.parametrize(
    "params",
    [
        {"filter": "audience"},
        {"filter": "audience:"},
        {"filter": "audience:" + "x" * 500},
        {"filter": [f"audience:v{i}" for i in range(21)]},
        {"sort": "date"},
    ],
)
def test_malformed_filters_and_sorts_get_a_400(client, params):
    resp = client.get("/v1/search?" + urllib.parse.urlencode({"q": "x", **params}, doseq=True))
    assert resp.status_code == 400
    assert resp.get_json()["error"]["parameter"] in ("filter", "sort")


def test_the_facet_fields_come_from_the_setting(corpus, index):
    app = create_app({"INDEX_DIR": str(index), "CORPUS_DIR": str(corpus), "FACETS": "ms.service"})
    try:
        resp = app.test_client().get("/v1/search?q=password&facets=audience")
        assert resp.status_code == 400 and "known: service" in resp.get_json()["error"]["message"]
    finally:
        app.extensions["helpapi.indexes"].close()


# --- Facet counts ------------------------------------------------------------------------------


def counts(body, name) -> dict[str, int]:
    return {row["label"]: row["count"] for row in body["facets"][name]}


def test_facet_counts_cover_every_match_not_the_page(client):
    body = get(client, q="password", facets="audience,service", limit=1)
    assert counts(body, "audience") == {"Admin": 3, "End User": 1, "ITPro": 1}
    assert counts(body, "service") == {"o365-administration": 2, "outlook": 1, "azure-ad": 1}
    row = body["facets"]["audience"][0]
    assert row == {"value": "admin", "label": "Admin", "count": 3}


def test_facet_counts_are_disjunctive(client):
    body = get(client, q="password", filter="audience:ITPro", facets="audience,service")
    assert body["total"] == 1
    # The audience counts ignore the audience filter (the other choices stay visible) ...
    assert counts(body, "audience") == {"Admin": 3, "End User": 1, "ITPro": 1}
    # ... the service counts apply it.
    assert counts(body, "service") == {"azure-ad": 1}


def test_the_cache_keeps_filtered_and_plain_answers_apart(client):
    plain = get(client, q="password")
    filtered = get(client, q="password", filter="service:outlook")
    again = get(client, q="password")
    assert plain == {**again, "query_id": plain["query_id"]}
    assert filtered["total"] == 1 and plain["total"] == 4


# --- Sorting -----------------------------------------------------------------------------------


def test_sort_updated_puts_the_newest_first_and_undated_last(client):
    body = get(client, q="password", sort="updated")
    assert slugs(body) == [
        "change-password",  # 2022-06-15
        "reset-admin-password",  # 2021-03-01
        "password-policy",  # 2020-01-10
        "itpro-password-sync",  # no date
    ]
    rel = get(client, q="password", sort="relevance")
    assert slugs(rel) == slugs(get(client, q="password"))


def test_sort_updated_pages_through_the_whole_order(client):
    pages = [slugs(get(client, q="password", sort="updated", limit=1, offset=i)) for i in range(4)]
    assert sum(pages, []) == slugs(get(client, q="password", sort="updated"))


# --- With synonyms and rules -------------------------------------------------------------------


def test_filters_apply_to_synonym_runs_and_pins(client, corpus):
    syn = corpus / "_config" / "synonyms" / "_all.txt"
    syn.parent.mkdir(parents=True)
    syn.write_text("mfa, two-step verification\n", "utf-8")
    (corpus / "_config" / "rules.yml").write_text(
        "rules:\n  - query: mfa\n    pin: [printer]\n", "utf-8"
    )
    from helpapi import controls_web

    with client.application.app_context():
        controls_web.holder().reload()
    unfiltered = get(client, q="mfa")
    assert set(slugs(unfiltered)) == {"printer", "mfa-setup", "two-step"}
    admin = get(client, q="mfa", filter="audience:Admin", facets="audience")
    assert slugs(admin) == ["mfa-setup"] and admin["total"] == 1
    assert counts(admin, "audience") == {"End User": 2, "Admin": 1}
    users = get(client, q="mfa", filter="audience:End User", sort="updated")
    # The pinned article passes the filter and stays first; the synonym match follows.
    assert slugs(users) == ["printer", "two-step"] and users["results"][0].get("pinned")


# --- Through real gunicorn ---------------------------------------------------------------------


def test_filters_and_facets_through_gunicorn(corpus, index, tmp_path):
    from .conftest import run_gunicorn

    def fetch(base, **params):
        query = urllib.parse.urlencode({"locale": "en-US", **params}, doseq=True)
        with urllib.request.urlopen(f"{base}/v1/search?{query}", timeout=10) as resp:
            return json.load(resp)

    with run_gunicorn(
        tmp_path / "log.txt",
        HELPAPI_INDEX_DIR=str(index),
        HELPAPI_CORPUS_DIR=str(corpus),
        WEB_CONCURRENCY="2",
    ) as served:
        for _ in range(4):  # both workers
            body = fetch(
                served.base,
                q="password",
                filter=["audience:admin", "service:O365-Administration"],
                facets="service",
                sort="updated",
            )
            assert body["total"] == 2
            assert slugs(body) == ["reset-admin-password", "password-policy"]
            assert counts(body, "service") == {"o365-administration": 2, "azure-ad": 1}
        try:
            fetch(served.base, q="password", facets="nope")
        except urllib.error.HTTPError as exc:
            assert exc.code == 400
            assert "known: audience, collection, service" in json.load(exc)["error"]["message"]
        else:
            raise AssertionError("expected a 400")
    assert served.returncode == 0, served.output


# --- The widget --------------------------------------------------------------------------------


@pytest.mark.e2e
def test_the_widget_sends_its_data_filter_as_filter_params(browser, page):  # noqa: F811
    from .test_widget_v2 import css
    from .test_widget_v2 import search_inline
    from .test_widget_v2 import wait_for

    d = page("locale=en-US")
    d.execute_script(
        "window.__urls = []; var f = window.fetch;"
        "window.fetch = function (u, o) { window.__urls.push(String(u)); return f(u, o); };"
        "var div = document.createElement('div'); div.id = 'help2'; document.body.appendChild(div);"
        "var s = document.createElement('script'); s.src = '/widget.js';"
        "s.setAttribute('data-target', '#help2');"
        "s.setAttribute('data-filter', 'audience:Admin; service:o365-administration');"
        "document.body.appendChild(s);"
    )
    wait_for(d, lambda d: css(d, "#help2 .hw-input"))
    search_inline(d, "password", "#help2")
    wait_for(d, lambda d: d.execute_script("return window.__urls.length"))
    url = d.execute_script("return window.__urls[window.__urls.length - 1]")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["filter"] == ["audience:Admin", "service:o365-administration"]


def test_the_openapi_document_describes_filters_facets_and_sort(client):
    spec = client.get("/v1/openapi.json").get_json()
    params = {p["name"]: p for p in spec["paths"]["/v1/search"]["get"]["parameters"]}
    assert {"filter", "facets", "sort"} <= set(params)
    assert params["sort"]["schema"]["enum"] == ["relevance", "updated"]
    results = spec["components"]["schemas"]["SearchResults"]["properties"]
    assert "facets" in results
