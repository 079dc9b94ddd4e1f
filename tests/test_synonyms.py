"""Synonyms (issue 18): the Solr parser, query expansion, search end to end, admin routes,
reload without restart, validation, and answers unchanged with no config."""

from __future__ import annotations

import os
import time

import pytest

from helpapi import controls
from helpapi import controls_web
from helpapi.indexer import build_indexes
from helpapi.synonyms import MAX_EXPANSIONS
from helpapi.synonyms import SynonymError
from helpapi.synonyms import SynonymMap
from helpapi.synonyms import parse

TOKEN = "s3cret-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def md(title: str, body: str) -> str:
    return f"---\ntitle: {title}\nms.date: 05/28/2021\n---\n# {title}\n\n{body}\n"


ARTICLES = {
    "en-US": {
        "mfa-setup": md("Set up MFA", "Turn on MFA for your account."),
        "two-step": md("Two-step verification", "Use two-step verification when you sign in."),
        "sign-in": md("Sign in to the portal", "How to sign in with your work account."),
        "printer": md("Add a printer", "Connect a printer to your computer."),
    },
    "ja-JP": {
        "mfa-setup": md("多要素認証を有効にする", "多要素認証でアカウントを守ります。"),
        "two-step": md("二段階認証について", "二段階認証の説明です。"),
    },
}


@pytest.fixture
def corpus(make_corpus):
    return make_corpus(ARTICLES)


@pytest.fixture
def app(corpus, make_app):
    return make_app(corpus, ADMIN_TOKEN=TOKEN)


def write(corpus, rel: str, text: str) -> None:
    path = corpus / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")


def reload_now(app) -> None:
    """Let the next request see the files (as a worker does within a second)."""
    with app.app_context():
        controls_web.holder().reload()


def slugs(client, q, locale="en-US", **params):
    body = client.get("/v1/search", query_string={"q": q, "locale": locale, **params}).get_json()
    return [r["slug"] for r in body["results"]], body


# --- parser units ---------------------------------------------------------------------------


def test_parse_equivalent_one_way_multi_word_and_comments():
    groups = parse("# comment\n\nmfa, 2fa, two-step verification\ni pod, ipod => ipod touch\n")
    assert [(g.line, g.inputs, g.outputs, g.equivalent) for g in groups] == [
        (3, ("mfa", "2fa", "two-step verification"), ("mfa", "2fa", "two-step verification"), True),
        (4, ("i pod", "ipod"), ("ipod touch",), False),
    ]


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("ok, fine\nalone\n", 2, "one entry alone"),
        ("a, , b\n", 1, "empty entry"),
        ("a => b => c\n", 1, "more than one '=>'"),
        ("=> b\n", 1, "empty entry"),
        ("a, b\n\n\na =>\n", 4, "empty entry"),
        ("a, !!!\n", 1, "has no words"),
        ("x" * 3000 + ", y\n", 1, "longer than"),
    ],
)
def test_parse_bad_lines_name_the_line(text, line, reason):
    with pytest.raises(SynonymError) as err:
        parse(text)
    assert err.value.line == line
    assert reason in err.value.reason


def test_cjk_entries_use_the_locale_analyzer():
    groups = parse("多要素認証, 二段階認証, MFA\n", "ja-JP")
    table = SynonymMap(groups, "ja-JP")
    # The entry matches inside a longer Japanese query (ICU words, no spaces needed).
    assert table.expand("多要素認証を有効にする") == ["二段階認証 を有効にする", "MFA を有効にする"]


def test_thai_entries_use_the_locale_analyzer():
    groups = parse("การยืนยันตัวตนแบบหลายปัจจัย, MFA\n", "th-TH")
    table = SynonymMap(groups, "th-TH")
    assert table.expand("เปิดการยืนยันตัวตนแบบหลายปัจจัยใน") == ["เปิด MFA ใน"]
    assert table.expand("mfa") == ["การยืนยันตัวตนแบบหลายปัจจัย"]


def test_expansion_is_case_insensitive_multi_word_and_one_way():
    table = SynonymMap(parse("mfa, two-step verification\nlogin => sign in\n"), "en-US")
    assert table.expand("Two-Step  Verification help") == ["mfa help"]
    assert table.expand("login") == ["sign in"]
    assert table.expand("sign in") == []  # one way only
    assert table.expand("printer") == []


def test_expansions_are_capped():
    text = "\n".join(f"w{i}, " + ", ".join(f"w{i}x{j}" for j in range(10)) for i in range(5))
    table = SynonymMap(parse(text), "en-US")
    out = table.expand("w0 w1 w2 w3 w4")
    assert 0 < len(out) <= MAX_EXPANSIONS
    # One replacement first, the first synonym of each place before the second ones.
    assert out == ["w0x0 w1 w2 w3 w4", "w0 w1x0 w2 w3 w4", "w0 w1 w2x0 w3 w4", "w0x1 w1 w2 w3 w4"]


# --- search end to end ----------------------------------------------------------------------


def test_no_config_answers_unchanged(app, client, corpus):
    queries = ["mfa", "sign in", "printer", "two-step verification", "prnter", "多要素認証"]
    before = [slugs(client, q)[1] for q in queries]
    (corpus / "_config" / "synonyms").mkdir(parents=True)  # an empty _config
    write(corpus, "_config/rules.yml", "# nothing yet\n")
    reload_now(app)
    after = [slugs(client, q)[1] for q in queries]
    for a, b in zip(before, after, strict=True):
        a.pop("query_id"), b.pop("query_id")
    assert before == after


def test_exact_match_ranks_above_synonym_only(app, client, corpus):
    write(corpus, "_config/synonyms/en-US.txt", "mfa, two-step verification\n")
    reload_now(app)
    found, body = slugs(client, "mfa")
    assert found == ["mfa-setup", "two-step"]
    assert body["total"] == 2
    found, body = slugs(client, "two-step verification")
    assert found == ["two-step", "mfa-setup"]
    # Paging over the union is exact.
    found, body = slugs(client, "mfa", limit=1, offset=1)
    assert found == ["two-step"] and body["total"] == 2


def test_synonym_found_when_the_typed_word_is_absent(app, client, corpus):
    write(corpus, "_config/synonyms/_all.txt", "2fa, mfa\n")
    reload_now(app)
    found, body = slugs(client, "2fa")
    assert found[0] == "mfa-setup"
    assert body["corrected"] is None


def test_one_way_rule(app, client, corpus):
    write(corpus, "_config/synonyms/en-US.txt", "login => sign in\n")
    reload_now(app)
    assert slugs(client, "login")[0][0] == "sign-in"
    assert "login" not in str(slugs(client, "sign in")[1]["results"])


def test_cjk_synonyms_end_to_end(app, client, corpus):
    write(corpus, "_config/synonyms/ja-JP.txt", "多要素認証, 二段階認証\n")
    reload_now(app)
    found, body = slugs(client, "多要素認証", locale="ja-JP")
    assert body["locale"] == "ja-JP"
    assert found == ["mfa-setup", "two-step"]


def test_per_locale_file_does_not_leak(app, client, corpus):
    write(corpus, "_config/synonyms/ja-JP.txt", "mfa, two-step verification\n")
    reload_now(app)
    assert slugs(client, "mfa")[0] == ["mfa-setup"]


def test_analyze_shows_the_expansion(app, client, corpus):
    write(corpus, "_config/synonyms/en-US.txt", "mfa, two-step verification, 2fa\n")
    reload_now(app)
    body = client.get("/v1/analyze", query_string={"text": "MFA setup", "locale": "en-US"})
    assert body.get_json()["expansions"] == ["two-step verification setup", "2fa setup"]
    body = client.get("/v1/analyze", query_string={"text": "printer", "locale": "en-US"})
    assert body.get_json()["expansions"] == []


def test_a_file_change_reloads_without_restart_and_the_cache_follows(app, client, corpus):
    assert slugs(client, "mfa")[0] == ["mfa-setup"]  # cached now
    write(corpus, "_config/synonyms/en-US.txt", "mfa, two-step verification\n")
    deadline = time.monotonic() + 5
    while slugs(client, "mfa")[0] != ["mfa-setup", "two-step"]:
        assert time.monotonic() < deadline, "the change was not seen within 5 s"
        time.sleep(0.2)
    os.unlink(corpus / "_config/synonyms/en-US.txt")
    reload_now(app)
    assert slugs(client, "mfa")[0] == ["mfa-setup"]


def test_bad_file_keeps_the_last_good_version(app, client, corpus, caplog):
    write(corpus, "_config/synonyms/en-US.txt", "mfa, two-step verification\n")
    reload_now(app)
    write(corpus, "_config/synonyms/en-US.txt", "mfa, two-step verification\nbroken\n")
    reload_now(app)
    assert slugs(client, "mfa")[0] == ["mfa-setup", "two-step"]
    view = client.get("/v1/admin/synonyms/en-US", headers=AUTH).get_json()
    assert "line 2" in view["problem"]
    assert any("last good version" in r.getMessage() for r in caplog.records)


# --- admin routes ---------------------------------------------------------------------------


def test_admin_put_then_get(app, client, corpus):
    resp = client.put("/v1/admin/synonyms/en-US", data="mfa, two-step verification\n", headers=AUTH)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["entries"] == 1
    assert (corpus / "_config/synonyms/en-US.txt").read_text() == "mfa, two-step verification\n"
    assert not [p for p in (corpus / "_config/synonyms").iterdir() if p.name.startswith(".")]
    assert slugs(client, "mfa")[0] == ["mfa-setup", "two-step"]  # at once in this worker
    view = client.get("/v1/admin/synonyms/en-US", headers=AUTH).get_json()
    assert view["text"] == "mfa, two-step verification\n" and view["exists"]
    assert view["locale"] == "en-US" and view["version"]
    # JSON body form too.
    resp = client.put("/v1/admin/synonyms/_all", json={"text": "2fa, mfa\n"}, headers=AUTH)
    assert resp.status_code == 200


def test_admin_bad_put_is_400_with_the_line_and_old_config_serves(app, client, corpus):
    client.put("/v1/admin/synonyms/en-US", data="mfa, two-step verification\n", headers=AUTH)
    resp = client.put("/v1/admin/synonyms/en-US", data="# ok\nmfa, 2fa\nmfa => \n", headers=AUTH)
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    assert err["code"] == "invalid_config"
    assert err["line"] == 3 and "line 3" in err["message"]
    assert (corpus / "_config/synonyms/en-US.txt").read_text() == "mfa, two-step verification\n"
    assert slugs(client, "mfa")[0] == ["mfa-setup", "two-step"]


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("get", "/v1/admin/synonyms/en-US", {}, 401),
        ("put", "/v1/admin/synonyms/en-US", {"Authorization": "Bearer wrong"}, 401),
        ("get", "/v1/admin/synonyms/not%20a%20tag", AUTH, 400),
        ("put", "/v1/admin/synonyms/..", AUTH, 400),
    ],
)
def test_admin_synonyms_auth_and_names(client, method, path, headers, status):
    assert getattr(client, method)(path, headers=headers, data="a, b").status_code == status


# --- corpus walker and check ----------------------------------------------------------------


def test_index_build_ignores_the_config_folder(corpus, tmp_path):
    write(corpus, "_config/synonyms/en-US.txt", "mfa, 2fa\n")
    write(corpus, "_config/notes.md", md("Not an article", "Never indexed."))
    meta = build_indexes(corpus, tmp_path / "ix2", jobs=1)
    assert "_config" not in str(meta)


def test_corpus_check_reports_bad_config_files(corpus):
    from helpapi.content import check_corpus

    write(corpus, "_config/synonyms/en-US.txt", "mfa, 2fa\nalone\n")
    write(corpus, "_config/synonyms/nope!.txt", "a, b\n")
    report = check_corpus(corpus)
    assert ("_config/synonyms/en-US.txt", 2) in [(p, n) for p, n, _ in report.config]
    assert any(p == "_config/synonyms/nope!.txt" for p, _, _ in report.config)
    assert report.errors >= 2
    assert report.as_dict()["config"][0]["line"] in (0, 2)


def test_corpus_check_cli_prints_the_line(corpus):
    from click.testing import CliRunner

    from helpapi.cli import main

    write(corpus, "_config/synonyms/en-US.txt", "mfa, 2fa\nalone\n")
    result = CliRunner().invoke(main, ["corpus", "check", "--corpus", str(corpus)])
    assert "_config/synonyms/en-US.txt, line 2: one entry alone" in result.output
    assert result.exit_code == 1


def test_config_holder_reads_no_more_than_once_a_second(corpus):
    holder = controls.ConfigHolder(corpus)
    assert holder.get().empty
    write(corpus, "_config/synonyms/en-US.txt", "mfa, 2fa\n")
    assert holder.get().empty  # checked less than a second ago
    assert not holder.reload().empty


def test_every_page_is_a_slice_of_the_whole_list(app, client, corpus):
    write(corpus, "_config/synonyms/en-US.txt", "mfa, two-step verification, sign in, printer\n")
    write(corpus, "_config/rules.yml", "- query: mfa\n  pin: [printer]\n  hide: [sign-in]\n")
    reload_now(app)
    whole, body = slugs(client, "mfa", limit=10)
    assert whole[0] == "printer" and "sign-in" not in whole and body["total"] == len(whole)
    for offset in range(len(whole)):
        page, body = slugs(client, "mfa", limit=1, offset=offset)
        assert page == whole[offset : offset + 1] and body["total"] == len(whole)


def test_every_gunicorn_worker_follows_a_change(corpus, tmp_path):
    """Two real workers: after a PUT to one, every answer has the synonym within seconds."""
    import json
    import urllib.request

    from .conftest import run_gunicorn

    index = tmp_path / "ix"
    build_indexes(corpus, index, jobs=1)

    def get(base, q):
        url = f"{base}/v1/search?q={q}&locale=en-US"
        with urllib.request.urlopen(url, timeout=10) as resp:
            return [r["slug"] for r in json.load(resp)["results"]]

    with run_gunicorn(
        tmp_path / "log.txt",
        HELPAPI_INDEX_DIR=str(index),
        HELPAPI_CORPUS_DIR=str(corpus),
        HELPAPI_ADMIN_TOKEN=TOKEN,
        WEB_CONCURRENCY="2",
    ) as served:
        for _ in range(6):  # both workers answer, and cache, the old answer
            assert get(served.base, "mfa") == ["mfa-setup"]
        req = urllib.request.Request(
            f"{served.base}/v1/admin/synonyms/en-US",
            data=b"mfa, two-step verification\n",
            headers=AUTH,
            method="PUT",
        )
        urllib.request.urlopen(req, timeout=10).read()
        time.sleep(2.5)  # a worker checks the files at most once a second
        for _ in range(10):
            assert get(served.base, "mfa") == ["mfa-setup", "two-step"]
    assert served.returncode == 0, served.output
