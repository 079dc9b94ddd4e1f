"""Settings, declared once as data: defaults -> ``HELPAPI_*`` environment -> explicit overrides.

The same table feeds the Flask config, the CLI, validation at start-up and the README (a test
checks that every setting is documented there).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from typing import NamedTuple

PROJECT_DIR = Path(__file__).resolve().parent.parent
ENV_PREFIX = "HELPAPI_"


class Setting(NamedTuple):
    name: str
    default: Any
    help: str
    kind: type = str
    low: int | None = None
    high: int | None = None


SETTINGS = (
    Setting("CORPUS_DIR", str(PROJECT_DIR / "corpus"), "Corpus folder: <locale>/**/*.md."),
    Setting("INDEX_DIR", str(PROJECT_DIR / "index"), "Where index generations are written."),
    Setting("DEFAULT_LOCALE", "en-US", "Locale used when none is asked for; the fallback."),
    Setting("MAX_QUERY_LENGTH", 256, "Longest accepted q, in characters.", int, 1, 4096),
    Setting("MAX_LIMIT", 50, "Largest accepted limit (results per page).", int, 1, 1000),
    Setting("MAX_OFFSET", 1000, "Largest accepted offset.", int, 0, 100000),
    Setting("CORS_ORIGINS", "*", "Origins allowed to GET read routes: * or a comma list."),
    Setting(
        "CACHE_MAX_AGE", 300, "Cache-Control max-age (s) of article responses.", int, 0, 31536000
    ),
    Setting(
        "RESULT_CACHE_SIZE",
        4096,
        "Search results kept in each worker's LRU cache.",
        int,
        0,
        1000000,
    ),
    Setting("ADMIN_TOKEN", "", "Bearer token of the admin routes; empty disables them."),
    Setting("ADMIN_TOKEN_FILE", "", "File holding the admin token (instead of ADMIN_TOKEN)."),
    Setting("BUILD_JOBS", 0, "Parallel locale builds; 0 means one per core.", int, 0, 256),
    Setting(
        "MAX_ARTICLE_BYTES",
        2_097_152,
        "Largest corpus file indexed, in bytes; larger ones are rejected unread.",
        int,
        1024,
        1 << 30,
    ),
)

DEFAULTS = {s.name: s.default for s in SETTINGS}
_BY_NAME = {s.name: s for s in SETTINGS}


class SettingsError(ValueError):
    """A setting has a value it cannot take; the message names the variable."""


def coerce(name: str, value: Any) -> Any:
    """Validate one setting's value, converting strings from the environment."""
    spec = _BY_NAME[name]
    if spec.kind is int:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(f"{ENV_PREFIX}{name} must be a whole number, got {value!r}")
        if (spec.low is not None and value < spec.low) or (
            spec.high is not None and value > spec.high
        ):
            raise SettingsError(
                f"{ENV_PREFIX}{name} must be between {spec.low} and {spec.high}, got {value}"
            )
        return value
    if not isinstance(value, str):
        raise SettingsError(f"{ENV_PREFIX}{name} must be text, got {value!r}")
    return value


def load_settings(environ=None, overrides: dict | None = None) -> dict:
    """Resolve every setting: defaults, then ``HELPAPI_*`` variables, then ``overrides``."""
    environ = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    for name in DEFAULTS:
        raw = environ.get(ENV_PREFIX + name)
        if raw is not None:
            settings[name] = coerce(name, raw)
    for name, value in (overrides or {}).items():
        if name in DEFAULTS and value is not None:
            settings[name] = coerce(name, value)
    return settings


def admin_token(settings: dict) -> str:
    """The configured admin token (from the file when one is named), or ``""``."""
    path = settings.get("ADMIN_TOKEN_FILE")
    if path:
        try:
            return Path(path).read_text("utf-8").strip()
        except OSError as exc:
            raise SettingsError(f"{ENV_PREFIX}ADMIN_TOKEN_FILE cannot be read: {exc}") from exc
    return settings.get("ADMIN_TOKEN", "").strip()
