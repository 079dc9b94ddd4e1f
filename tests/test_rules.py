"""Query rules (issue 18): the rules.yml parser, pinned and hidden results end to end, admin
routes, validation with the line, and the last good rules serving after a bad change."""

from __future__ import annotations

import pytest

from helpapi import controls_web
from helpapi.rules import RuleError
from helpapi.rules import matching
from helpapi.rules import parse

from .test_synonyms import AUTH
from .test_synonyms import TOKEN
from .test_synonyms import md

ARTICLES = {
    "en-US": {
        "reset-password": md("Reset your password", "Reset a forgotten password."),
        "password-policy": md("Password policy", "Rules for a strong password."),
        "old-password-faq": md("Old password questions", "Password questions from 2010."),
        "printer": md("Add a printer", "Connect a printer to your computer."),
    },
    "de-DE": {
        "reset-password": md("Kennwort zurücksetzen", "Ein vergessenes Kennwort zurücksetzen."),
        "printer": md("Drucker hinzufügen", "Einen Drucker anschließen."),
    },
}

RULES = """\
rules:
  - query: Password
    pin: [printer, reset-password]
    hide: [old-password-faq]
  - query: password help
    match: contains
    hide: [password-policy]
  - query: kennwort
    locales: [de-DE]
    pin: printer
"""


@pytest.fixture
def corpus(make_corpus):
    return make_corpus(ARTICLES)


@pytest.fixture
def app(corpus, make_app):
    return make_app(corpus, ADMIN_TOKEN=TOKEN)


def search(client, q, locale="en-US", **params):
    return client.get("/v1/search", query_string={"q": q, "locale": locale, **params}).get_json()


def put_rules(client, text):
    return client.put("/v1/admin/rules", data=text, headers=AUTH)


# --- parser units ---------------------------------------------------------------------------


def test_parse_rules():
    rules = parse(RULES)
    assert [(r.line, r.query, r.match, r.pin, r.hide) for r in rules] == [
        (2, "password", "exact", ("printer", "reset-password"), ("old-password-faq",)),
        (5, "password help", "contains", (), ("password-policy",)),
        (8, "kennwort", "exact", ("printer",), ()),
    ]
    assert rules[2].locales == frozenset({"de-de"})
    assert parse("") == [] and parse("rules:\n") == [] and parse("# none\n") == []


def test_matching_exact_contains_and_locales():
    rules = parse(RULES)
    assert matching(rules, "password", "en-US") == (
        ["printer", "reset-password"],
        {"old-password-faq"},
    )
    assert matching(rules, "password reset", "en-US") == ([], set())
    assert matching(rules, "my password help please", "en-US") == ([], {"password-policy"})
    assert matching(rules, "password helper", "en-US") == ([], set())  # word boundaries
    assert matching(rules, "kennwort", "en-US") == ([], set())
    assert matching(rules, "kennwort", "de-DE") == (["printer"], set())


def test_cjk_contains_rule():
    rules = parse("- query: 多要素認証\n  match: contains\n  pin: [mfa]\n")
    assert matching(rules, "多要素認証を有効にする", "ja-JP") == (["mfa"], set())


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (
            "rules:\n  - query: a\n    pin: [x]\n  - query: b\n    pni: [y]\n",
            5,
            "unknown key 'pni'",
        ),
        ("rules:\n  - query: a\n", 2, "needs pin: or hide:"),
        ("rules:\n  - pin: [x]\n", 2, "needs a query"),
        ("- query: a\n  match: fuzzy\n  pin: [x]\n", 2, "exact or contains"),
        ("- query: a\n  pin: [x]\n  hide: [x]\n", 1, "both pinned and hidden"),
        ("- query: a\n  locales: [not a tag]\n  pin: [x]\n", 2, "not a locale tag"),
        ("- query: a\n  pin: {x: 1}\n", 2, "must be a list"),
        ("- query: [a]\n  pin: [x]\n", 1, "non-empty text"),
        ("rules: [\n  - query: a\n", 2, "not valid YAML"),
        ("- &a query: a\n  pin: *a\n", 2, "aliases are not allowed"),
        ("other: 1\n", 1, "unknown key 'other'"),
        ("rules: just text\n", 1, "must be a list"),
    ],
)
def test_parse_bad_rules_name_the_line(text, line, reason):
    with pytest.raises(RuleError) as err:
        parse(text)
    assert err.value.line == line, err.value
    assert reason in str(err.value)


# --- end to end -----------------------------------------------------------------------------


def test_pinned_first_and_marked_hidden_gone(app, client, corpus):
    before = search(client, "password")
    assert "old-password-faq" in [r["slug"] for r in before["results"]]
    assert all("pinned" not in r for r in before["results"])
    assert put_rules(client, RULES).status_code == 200
    body = search(client, "PASSWORD ")
    found = [r["slug"] for r in body["results"]]
    # The printer does not match "password": pinned all the same, in the rule's order.
    assert found == ["printer", "reset-password", "password-policy"]
    assert [r.get("pinned", False) for r in body["results"]] == [True, True, False]
    assert body["total"] == 3
    # Paging over the pinned list.
    page = search(client, "password", limit=1, offset=1)
    assert [r["slug"] for r in page["results"]] == ["reset-password"] and page["total"] == 3


def test_contains_rule_hides(app, client):
    put_rules(client, RULES)
    found = [r["slug"] for r in search(client, "password help")["results"]]
    assert "password-policy" not in found


def test_locale_rule(app, client):
    put_rules(client, RULES)
    body = search(client, "Kennwort", locale="de-DE")
    assert [r["slug"] for r in body["results"]] == ["printer", "reset-password"]
    assert body["results"][0]["pinned"] is True


def test_rules_and_synonyms_together(app, client):
    put_rules(client, "- query: printer\n  hide: [printer]\n")
    client.put("/v1/admin/synonyms/en-US", data="printer, password\n", headers=AUTH)
    found = [r["slug"] for r in search(client, "printer")["results"]]
    assert "printer" not in found and found  # the synonym's matches remain


def test_bad_put_400_with_line_and_old_rules_serve(app, client, corpus):
    put_rules(client, RULES)
    resp = put_rules(client, "rules:\n  - query: password\n    pin: [printer]\n    bad: 1\n")
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    assert err["code"] == "invalid_config" and err["line"] == 4
    assert "line 4" in err["message"] and "rules.yml" in err["message"]
    assert (corpus / "_config/rules.yml").read_text() == RULES
    assert search(client, "password")["results"][0]["slug"] == "printer"


def test_bad_file_on_disk_keeps_the_last_good_rules(app, client, corpus):
    put_rules(client, RULES)
    (corpus / "_config/rules.yml").write_text("rules: [\n", "utf-8")
    with app.app_context():
        controls_web.holder().reload()
    assert search(client, "password")["results"][0]["slug"] == "printer"
    view = client.get("/v1/admin/rules", headers=AUTH).get_json()
    assert "rules.yml" in view["problem"] and view["text"] == "rules: [\n"


def test_get_rules(client):
    view = client.get("/v1/admin/rules", headers=AUTH).get_json()
    assert view == {
        "path": "_config/rules.yml",
        "exists": False,
        "text": "",
        "version": "",
    }
    put_rules(client, RULES)
    view = client.get("/v1/admin/rules", headers=AUTH).get_json()
    assert view["exists"] and view["text"] == RULES and view["version"]
    assert client.get("/v1/admin/rules").status_code == 401


def test_corpus_check_reports_bad_rules(corpus):
    from helpapi.content import check_corpus

    (corpus / "_config").mkdir()
    (corpus / "_config/rules.yml").write_text("- query: a\n", "utf-8")
    report = check_corpus(corpus)
    assert report.config == [("_config/rules.yml", 1, "a rule needs pin: or hide: (article slugs)")]
    assert not report.as_dict()["ok"]
