"""The command line through Click's runner (and Flask's)."""

from click.testing import CliRunner

from helpapi.cli import main

from .conftest import sxs_article


def test_build_stats_search(make_corpus, tmp_path, monkeypatch):
    corpus = make_corpus(
        {
            "fi-FI": {
                "a": sxs_article(
                    "Salasanan vaihtaminen",
                    "Change password",
                    [("Avaa tilin asetukset.", "Open account settings.")],
                )
            },
            "ja-JP": {
                "a": sxs_article(
                    "パスワードの変更",
                    "Change password",
                    [("アカウント設定を開きます。", "Open account settings.")],
                )
            },
        }
    )
    index = tmp_path / "ix"
    runner = CliRunner()
    result = runner.invoke(
        main, ["index", "build", "--corpus", str(corpus), "--index", str(index), "--jobs", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "fi-FI" in result.output and "en-US" in result.output
    assert "2 parsed, 0 repaired, 0 rejected" in result.output

    result = runner.invoke(main, ["index", "stats", "--index", str(index)])
    assert result.exit_code == 0 and "ja-JP" in result.output

    monkeypatch.setenv("HELPAPI_INDEX_DIR", str(index))  # settings from the environment
    result = runner.invoke(main, ["search", "asetukset", "--locale", "fi"])
    assert result.exit_code == 0, result.output
    assert "1 hits in fi-FI" in result.output and "Salasanan vaihtaminen" in result.output

    result = runner.invoke(main, ["search", "設定を", "--locale", "ja-JP"])
    assert "パスワードの変更" in result.output

    result = runner.invoke(main, ["search", "account settings", "--locale", "pt-BR"])
    assert "(English fallback)" in result.output


def test_build_reports_bad_corpus(tmp_path):
    result = CliRunner().invoke(
        main,
        ["index", "build", "--corpus", str(tmp_path / "none"), "--index", str(tmp_path / "ix")],
    )
    assert result.exit_code == 1 and "does not exist" in result.output


def test_bad_setting_in_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HELPAPI_BUILD_JOBS", "many")
    result = CliRunner().invoke(main, ["index", "build", "--index", str(tmp_path)])
    assert result.exit_code == 2 and "HELPAPI_BUILD_JOBS must be a whole number" in result.output


def test_search_without_index(tmp_path):
    result = CliRunner().invoke(main, ["search", "x", "--index", str(tmp_path)])
    assert result.exit_code == 1 and "helpapi index build" in result.output


def test_flask_cli_has_index_group(runner):
    result = runner.invoke(args=["index", "stats"])
    assert result.exit_code == 0 and "generation" in result.output


def test_search_with_bad_locale_is_a_usage_error(corpus_index):
    args = ["search", "x", "--locale", "not a tag", "--index", str(corpus_index)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "--locale" in result.output
