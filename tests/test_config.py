"""Settings: defaults -> environment -> overrides, validation, documentation."""

import pytest

from helpapi import create_app
from helpapi.config import SETTINGS
from helpapi.config import SettingsError
from helpapi.config import admin_token
from helpapi.config import load_settings

from .conftest import ROOT


def test_precedence():
    env = {"HELPAPI_MAX_LIMIT": "20", "HELPAPI_INDEX_DIR": "/from/env"}
    s = load_settings(env, {"INDEX_DIR": "/override"})
    assert s["MAX_LIMIT"] == 20 and s["INDEX_DIR"] == "/override"
    assert s["DEFAULT_LOCALE"] == "en-US"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HELPAPI_MAX_LIMIT", "abc", "whole number"),
        ("HELPAPI_MAX_LIMIT", "0", "between"),
        ("HELPAPI_CACHE_MAX_AGE", "true", "whole number"),
        ("HELPAPI_MAX_OFFSET", "-5", "between"),
    ],
)
def test_bad_values_name_the_variable(name, value, message):
    with pytest.raises(SettingsError, match=f"{name}.*{message}"):
        load_settings({name: value})


def test_app_refuses_bad_environment(monkeypatch):
    monkeypatch.setenv("HELPAPI_MAX_QUERY_LENGTH", "huge")
    with pytest.raises(SettingsError):
        create_app()


def test_admin_token_file(tmp_path):
    f = tmp_path / "token"
    f.write_text("s3cret\n")
    assert admin_token({"ADMIN_TOKEN_FILE": str(f), "ADMIN_TOKEN": "x"}) == "s3cret"
    with pytest.raises(SettingsError):
        admin_token({"ADMIN_TOKEN_FILE": str(tmp_path / "missing")})


def test_every_setting_is_documented_in_readme():
    readme = (ROOT / "README.md").read_text("utf-8")
    missing = [s.name for s in SETTINGS if f"HELPAPI_{s.name}" not in readme]
    assert missing == []
