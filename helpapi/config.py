"""Settings, declared once as data: defaults -> ``HELPAPI_*`` environment -> explicit overrides.

The same table feeds the Flask config, the CLI, validation at start-up and the README (a test
checks that every setting is documented there).
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any
from typing import NamedTuple

from .corpus import DEFAULT_FACETS
from .corpus import DEFAULT_MAX_ARTICLE_BYTES

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
    Setting(
        "SOURCE_LOCALE",
        "en-US",
        "Corpus folder of the source (English) articles: the English index, linked to by the"
        " translations.",
    ),
    Setting(
        "LINK_BASE",
        "",
        "Base URL that relative links and image paths in article html resolve against;"
        " {locale} is the article's locale. Empty: left as written.",
    ),
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
        "BUILD_TIMEOUT", 1800, "Seconds a reindex job may run before it is stopped.", int, 10, 86400
    ),
    Setting(
        "INSTANCE_ID",
        "",
        "This instance's identity among replicas sharing INDEX_DIR (owner of the build lease);"
        " empty: hostname + boot id. Set it (e.g. to the pod name) when hostnames can repeat.",
    ),
    Setting(
        "LEASE_SECONDS",
        30,
        "Seconds a reindex job's build lease lasts without a heartbeat; then the job is failed"
        " and another instance may build.",
        int,
        5,
        3600,
    ),
    Setting(
        "HEARTBEAT_SECONDS",
        5,
        "Seconds between renewals of the build lease; at most half of LEASE_SECONDS.",
        int,
        1,
        1800,
    ),
    Setting(
        "GENERATION_GRACE_SECONDS",
        600,
        "Seconds an old generation is kept after it left service before it may be deleted;"
        " longer than any request (and a network filesystem's attribute cache).",
        int,
        0,
        604800,
    ),
    Setting("BODY_TIMEOUT", 10, "Seconds a request body may take to arrive in full.", int, 1, 300),
    Setting(
        "MAX_ARTICLE_BYTES",
        DEFAULT_MAX_ARTICLE_BYTES,
        "Largest corpus file indexed, in bytes; larger ones are rejected unread.",
        int,
        1024,
        1 << 30,
    ),
    Setting("ANALYTICS", "on", 'Search analytics recording: on or off (README "Analytics").'),
    Setting(
        "ANALYTICS_DB", "", "Analytics SQLite file; empty means <INDEX_DIR>/analytics.sqlite3."
    ),
    Setting(
        "ANALYTICS_RETENTION_DAYS",
        90,
        "Days analytics rows are kept; older ones are pruned at start-up, then hourly.",
        int,
        1,
        3650,
    ),
    Setting(
        "ANALYTICS_QUEUE_SIZE",
        10000,
        "Records each worker may hold before writing; beyond it they are dropped and counted.",
        int,
        1,
        1_000_000,
    ),
    Setting(
        "EVENTS_PER_MINUTE",
        60,
        "Widget events accepted per client address a minute.",
        int,
        1,
        100000,
    ),
    Setting("METRICS_TOKEN", "", "Bearer token required by /metrics; empty leaves it open."),
    Setting("LOG_QUERIES", 0, "1 writes the query text into the access log.", int, 0, 1),
    Setting(
        "FACETS",
        DEFAULT_FACETS,
        "Front-matter fields offered as filters and facets (comma list), named by the part"
        " after the last dot; read when indexing, a change needs a reindex.",
    ),
)
# HELPAPI_* variables read outside this table: gunicorn.conf.py's, and the test suite's.
OTHER_VARIABLES = ("BIND", "REQUIRE_BROWSER", "GC_GEN0")
MIN_TOKEN_LENGTH = 16

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


def unknown_variables(environ=None) -> list[str]:
    """A warning for each ``HELPAPI_*`` variable that no setting reads, naming the closest one.

    A misspelt variable would otherwise be ignored in silence and its default used.
    """
    environ = os.environ if environ is None else environ
    known = [ENV_PREFIX + n for n in (*DEFAULTS, *OTHER_VARIABLES)]
    out = []
    for key in sorted(environ):
        if key.startswith(ENV_PREFIX) and key not in known:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
            hint = f"; did you mean {close[0]}?" if close else ""
            out.append(f"{key} is not a helpapi setting{hint}")
    return out


def _indexed_locales(index_dir: str) -> list[str] | None:
    """Locales of the serving generation, or None when there is none (or it cannot be read)."""
    from . import generations

    try:
        name = generations.current_generation(Path(index_dir))
        if name is None:
            return None
        return sorted(generations.read_meta(Path(index_dir) / name)["locales"])
    except Exception:  # a damaged index is reported by /readyz, not as a settings error
        return None


def check_settings(settings: dict) -> dict:
    """Checks across settings and files, run at start-up; returns the normalized settings.

    The admin token must be at least 16 characters. ``DEFAULT_LOCALE`` must be a well-formed
    tag and, when an index exists, ``en-US`` or one of its locales (a default that is not
    indexed would answer every request in English with ``fallback: true``).
    """
    from .locales import BadLocale
    from .locales import normalize_tag

    token = admin_token(settings)
    if token and len(token) < MIN_TOKEN_LENGTH:
        if settings.get("ADMIN_TOKEN_FILE"):
            raise SettingsError(
                f"{ENV_PREFIX}ADMIN_TOKEN_FILE must hold a token of at least {MIN_TOKEN_LENGTH}"
                f" characters, it has {len(token)}"
            )
        raise SettingsError(
            f"{ENV_PREFIX}ADMIN_TOKEN must be at least {MIN_TOKEN_LENGTH} characters long,"
            f" got {len(token)}"
        )
    try:
        locale = normalize_tag(settings["DEFAULT_LOCALE"])
    except BadLocale:
        raise SettingsError(
            f"{ENV_PREFIX}DEFAULT_LOCALE must be a language tag such as en-US,"
            f" got {settings['DEFAULT_LOCALE']!r}"
        ) from None
    if settings["ANALYTICS"] not in ("on", "off"):
        raise SettingsError(
            f"{ENV_PREFIX}ANALYTICS must be on or off, got {settings['ANALYTICS']!r}"
        )
    if settings["HEARTBEAT_SECONDS"] * 2 > settings["LEASE_SECONDS"]:
        raise SettingsError(
            f"{ENV_PREFIX}HEARTBEAT_SECONDS must be at most half of {ENV_PREFIX}LEASE_SECONDS"
            f" ({settings['LEASE_SECONDS']}), got {settings['HEARTBEAT_SECONDS']}"
        )
    indexed = _indexed_locales(settings["INDEX_DIR"])
    if indexed is not None and locale != "en-US" and locale not in indexed:
        raise SettingsError(
            f"{ENV_PREFIX}DEFAULT_LOCALE {locale} is not indexed: use en-US or one of "
            + ", ".join(indexed)
        )
    return {**settings, "DEFAULT_LOCALE": locale}
