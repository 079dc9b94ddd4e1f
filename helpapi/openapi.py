"""The OpenAPI 3.1 description of the HTTP API (a test keeps it in sync with the routes)."""

from __future__ import annotations


def _param(name, where, schema, description, required=False):
    return {
        "name": name,
        "in": where,
        "required": required,
        "schema": schema,
        "description": description,
    }


_LOCALE = _param(
    "locale",
    "query",
    {"type": "string", "maxLength": 35},
    "BCP 47 tag (case-insensitive, _ or -). Else Accept-Language, else en-US.",
)
_ACCEPT = _param(
    "Accept-Language",
    "header",
    {"type": "string"},
    "Used when no locale parameter is given (q-values honoured).",
)
_ERR = {"$ref": "#/components/responses/Error"}
# The admin routes' security: the bearer token (HELPAPI_ADMIN_TOKEN).
_BEARER = [{"bearer": []}]
_JOB_ID = _param("job_id", "path", {"type": "string"}, "Job id", True)


def _errors(*codes: str) -> dict:
    """The shared Error response under each of ``codes``, in that order."""
    return {code: _ERR for code in codes}


def _plain_get(summary: str, description: str, *error_codes: str) -> dict:
    """A GET with no parameters whose 200 is described in words only (a page, a file, a probe),
    then the shared Error response under each of ``error_codes``."""
    return {
        "get": {
            "summary": summary,
            "responses": {"200": {"description": description}, **_errors(*error_codes)},
        }
    }


def _ok(schema_ref: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": schema_ref}}},
    }


_FACET_PARAMS = [
    _param(
        "filter",
        "query",
        {"type": "array", "items": {"type": "string", "maxLength": 164}, "maxItems": 20},
        "name:value, repeatable: a front-matter facet (HELPAPI_FACETS: audience, service, "
        "collection by default). Different fields AND, values of one field OR (repeated or "
        "comma-separated: audience:ITPro,Admin). Values match case- and space-insensitively. "
        "Applied before paging: total is exact. An unknown name is a 400 naming the known ones.",
    ),
    _param(
        "facets",
        "query",
        {"type": "array", "items": {"type": "string"}},
        "Facet names to count over every match (comma-separated or repeated); each field's "
        "counts apply the other fields' filters, not its own (disjunctive).",
    ),
    _param(
        "sort",
        "query",
        {"type": "string", "enum": ["relevance", "updated"], "default": "relevance"},
        "updated: newest front-matter date (ms.date, updated, date) first, undated last.",
    ),
]
_FACETS_SCHEMA = {
    "type": "object",
    "description": "Only when facets was asked for: name -> values, most frequent first "
    "(at most 100; values with no match left out).",
    "additionalProperties": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "value": {"type": "string", "description": "Normalized: what filter matches."},
                "label": {"type": "string", "description": "The spelling most articles use."},
                "count": {"type": "integer"},
            },
        },
    },
}


def spec() -> dict:
    """The OpenAPI document."""
    hit = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "description": "assetid when there is one, else slug"},
            "assetid": {"type": ["string", "null"]},
            "slug": {"type": "string"},
            "title": {"type": "string"},
            "snippet": {"type": "string", "description": "HTML-escaped, matches in <mark>"},
            "score": {"type": "number"},
            "locale": {"type": "string"},
            "url": {"type": "string"},
            "pinned": {
                "type": "boolean",
                "description": "Present (true) on results a query rule pinned first",
            },
        },
    }
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "helpapi",
            "version": "1.0.0",
            "description": "Multilingual help-article search with English fallback.",
        },
        "paths": {
            "/v1/search": {
                "get": {
                    "summary": "Search articles in one locale (English fallback).",
                    "parameters": [
                        _param(
                            "q",
                            "query",
                            {"type": "string", "minLength": 1, "maxLength": 256},
                            "Words to find; never interpreted as query syntax. Quotes make a "
                            "phrase.",
                            True,
                        ),
                        _LOCALE,
                        _ACCEPT,
                        _param(
                            "limit",
                            "query",
                            {"type": "integer", "minimum": 1, "maximum": 50, "default": 10},
                            "Results per page.",
                        ),
                        _param(
                            "offset",
                            "query",
                            {"type": "integer", "minimum": 0, "maximum": 1000, "default": 0},
                            "Results to skip.",
                        ),
                        _param(
                            "prefix",
                            "query",
                            {"type": "boolean", "default": False},
                            "Treat the last word as still being typed (search as you type).",
                        ),
                        _param(
                            "refines",
                            "query",
                            {"type": "string", "maxLength": 64, "pattern": "^[A-Za-z0-9]+$"},
                            "The query_id of the previous keystroke's search when searching as "
                            "you type. That search is then superseded: still counted as a "
                            "request, left out of the insights lists and rates (unless its "
                            "results were clicked or voted on).",
                        ),
                        *_FACET_PARAMS,
                    ],
                    "responses": {
                        "200": _ok("#/components/schemas/SearchResults", "Results"),
                        "400": _ERR,
                        "503": _ERR,
                    },
                }
            },
            "/v1/articles/{ident}": {
                "get": {
                    "summary": "Fetch one article by assetid (any case) or slug.",
                    "parameters": [
                        _param(
                            "ident",
                            "path",
                            {"type": "string"},
                            "assetid or slug (may hold /)",
                            True,
                        ),
                        _LOCALE,
                        _ACCEPT,
                        _param("If-None-Match", "header", {"type": "string"}, "ETag seen before."),
                    ],
                    "responses": {
                        "200": _ok("#/components/schemas/Article", "The article"),
                        "304": {"description": "Not modified"},
                        "400": _ERR,
                        "404": _ERR,
                        "503": _ERR,
                    },
                }
            },
            "/v1/analyze": {
                "get": {
                    "summary": "Tokens the index stores for a text in a locale.",
                    "parameters": [
                        _param(
                            "text", "query", {"type": "string", "maxLength": 4096}, "Text.", True
                        ),
                        _LOCALE,
                        _ACCEPT,
                        _param(
                            "chain",
                            "query",
                            {"enum": ["words", "stems", "grams"], "default": "words"},
                            "Which analyzer chain.",
                        ),
                    ],
                    "responses": {
                        "200": _ok("#/components/schemas/Analysis", "Tokens"),
                        "400": _ERR,
                    },
                }
            },
            "/v1/locales": {
                "get": {
                    "summary": "Indexed locales and their article counts.",
                    "responses": {
                        "200": _ok("#/components/schemas/Locales", "Locales"),
                        "503": _ERR,
                    },
                }
            },
            "/v1/openapi.json": _plain_get("This document.", "OpenAPI 3.1 document"),
            "/v1/admin/reindex": {
                "post": {
                    "summary": "Start a reindex (incremental unless full). One at a time.",
                    "security": _BEARER,
                    "requestBody": {
                        "required": False,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "properties": {
                                        "locales": {"type": "array", "items": {"type": "string"}},
                                        "full": {"type": "boolean", "default": False},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "202": _ok("#/components/schemas/Job", "Queued; Location names the job"),
                        "400": _ERR,
                        "401": _ERR,
                        "403": _ERR,
                        "409": _ERR,
                        "413": _ERR,
                        "503": _ERR,
                    },
                },
                "get": {
                    "summary": "Recent reindex jobs, newest first.",
                    "security": _BEARER,
                    "responses": {"200": {"description": "Jobs"}, "401": _ERR, "403": _ERR},
                },
            },
            "/v1/admin/reindex/{job_id}": {
                "get": {
                    "summary": "One reindex job: status, progress, counts, timings, errors.",
                    "security": _BEARER,
                    "parameters": [_JOB_ID],
                    "responses": {
                        "200": _ok("#/components/schemas/Job", "The job"),
                        "401": _ERR,
                        "403": _ERR,
                        "404": _ERR,
                    },
                },
                "delete": {
                    "summary": "Cancel a queued or running reindex job. Its processes are "
                    "stopped and its staging folder removed; the serving generation stays.",
                    "security": _BEARER,
                    "parameters": [_JOB_ID],
                    "responses": {
                        "200": _ok("#/components/schemas/Job", "The job, now cancelled"),
                        "401": _ERR,
                        "403": _ERR,
                        "404": _ERR,
                        "409": _ERR,
                        "503": _ERR,
                    },
                },
            },
            "/widget.js": _plain_get("The embeddable help widget (JavaScript).", "text/javascript"),
            "/widget.css": _plain_get("The widget's stylesheet.", "text/css"),
            "/": _plain_get(
                "A landing page linking the demo and this document; JSON with "
                "Accept: application/json.",
                "text/html or application/json",
            ),
            "/demo": {
                "get": {
                    "summary": "A page embedding the widget, with a locale switcher.",
                    "parameters": [_LOCALE],
                    "responses": {"200": {"description": "text/html"}, "400": _ERR},
                }
            },
            "/healthz": _plain_get("Liveness.", "The process answers"),
            "/readyz": _plain_get("Readiness: an index generation is open.", "Ready", "503"),
        },
        "components": {
            "schemas": {
                "SearchResults": {
                    "type": "object",
                    "properties": {
                        "query": {"type": "string"},
                        "locale": {"type": "string"},
                        "requested_locale": {"type": ["string", "null"]},
                        "fallback": {"type": "boolean"},
                        "total": {"type": "integer"},
                        "corrected": {
                            "type": ["string", "null"],
                            "description": (
                                "The query as searched when a spelling correction found the "
                                "results (each corrected word replaced, the rest as typed), "
                                "for a 'Showing results for ...' line; null when the query "
                                "was searched as typed."
                            ),
                        },
                        "filtered_out": {
                            "type": "boolean",
                            "description": (
                                "True when the query matches articles in the answering locale "
                                "but the filters removed every one, a filter no article passes "
                                "included (total 0; a locale with matches does not fall back "
                                "to English): not a zero-result search in the insights."
                            ),
                        },
                        "limit": {"type": "integer"},
                        "offset": {"type": "integer"},
                        "results": {"type": "array", "items": hit},
                        "query_id": {
                            "type": "string",
                            "description": "Random id of this search; send it back with "
                            "POST /v1/events.",
                        },
                        "facets": _FACETS_SCHEMA,
                    },
                },
                "Article": {
                    "type": "object",
                    "properties": {
                        k: {"type": t}
                        for k, t in (
                            ("id", "string"),
                            ("assetid", ["string", "null"]),
                            ("slug", "string"),
                            ("locale", "string"),
                            ("requested_locale", ["string", "null"]),
                            ("fallback", "boolean"),
                            ("title", "string"),
                            ("english_title", "string"),
                            ("markdown", "string"),
                            ("html", "string"),
                            ("text", "string"),
                            ("refs", "array"),
                            ("updated", ["string", "null"]),
                            ("locales", "array"),
                            ("also", "array"),
                        )
                    },
                },
                "Analysis": {
                    "type": "object",
                    "properties": {
                        "locale": {"type": "string"},
                        "chain": {"type": "string"},
                        "text": {"type": "string"},
                        "expansions": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "The variants a search for this text also runs, "
                            "from the synonyms in force (empty when none match).",
                        },
                        "tokens": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "text": {"type": "string"},
                                    "pos": {"type": "integer"},
                                    "start": {"type": "integer"},
                                    "end": {"type": "integer"},
                                },
                            },
                        },
                    },
                },
                "Locales": {
                    "type": "object",
                    "properties": {
                        "default": {"type": "string"},
                        "generation": {"type": "string"},
                        "locales": {"type": "array"},
                    },
                },
                "Job": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "status": {
                            "enum": ["queued", "running", "succeeded", "failed", "cancelled"]
                        },
                        "created": {"type": "number"},
                        "started": {"type": ["number", "null"]},
                        "finished": {"type": ["number", "null"]},
                        "request": {"type": "object"},
                        "progress": {"type": "object"},
                        "counts": {"type": "object"},
                        "locales": {"type": "object"},
                        "generation": {"type": ["string", "null"]},
                        "errors": {"type": "array", "items": {"type": "string"}},
                        "url": {"type": "string"},
                    },
                },
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "status": {"type": "integer"},
                                "parameter": {"type": "string"},
                                "errno": {"type": "string"},
                                "path": {"type": "string"},
                                "line": {"type": "integer"},
                            },
                        }
                    },
                },
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "Error": {
                    "description": "Error (same body for every status)",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
            },
        },
    }
    document["paths"].update(_ingest_paths())
    document["paths"].update(_coverage_paths())
    document["paths"].update(_analytics_paths())
    document["paths"].update(_controls_paths())
    return document


def _controls_paths() -> dict:
    """Synonyms and query rules (helpapi.controls_web)."""
    view = {
        "description": "The file as it is on disk, and the config version in force",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string"},
                        "exists": {"type": "boolean"},
                        "text": {"type": "string"},
                        "version": {"type": "string"},
                        "entries": {"type": "integer", "description": "PUT: rules parsed"},
                        "problem": {
                            "type": "string",
                            "description": "The file on disk does not parse (file, line, "
                            "reason): its last good version is what serves",
                        },
                    },
                }
            }
        },
    }
    body = {
        "required": True,
        "content": {
            "text/plain": {"schema": {"type": "string"}},
            "application/json": {
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"text": {"type": "string"}},
                }
            },
        },
    }
    errors = _errors("401", "403", "413", "503")
    put_errors = {
        "400": {
            "description": "invalid_config: the text does not parse; `line` names the line. "
            "Nothing is written: the config in force stays.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        },
        **errors,
    }
    locale = _param(
        "locale", "path", {"type": "string"}, "A BCP 47 tag (like de-DE), or _all", True
    )
    return {
        "/v1/admin/synonyms/{locale}": {
            "get": {
                "summary": "The synonyms file of a locale (_config/synonyms/<locale>.txt).",
                "security": _BEARER,
                "parameters": [locale],
                "responses": {"200": view, "400": _ERR, **errors},
            },
            "put": {
                "summary": "Replace a locale's synonyms (Solr format: `a, b, c` equivalent, "
                "`a => b` one-way). Atomic; every worker applies it within seconds, no reindex.",
                "security": _BEARER,
                "parameters": [locale],
                "requestBody": body,
                "responses": {"200": view, **put_errors},
            },
        },
        "/v1/admin/rules": {
            "get": {
                "summary": "The query rules file (_config/rules.yml): pinned and hidden results.",
                "security": _BEARER,
                "responses": {"200": view, **errors},
            },
            "put": {
                "summary": "Replace the query rules (YAML). Atomic; every worker applies them "
                "within seconds, no reindex.",
                "security": _BEARER,
                "requestBody": body,
                "responses": {"200": view, **put_errors},
            },
        },
    }


def _coverage_paths() -> dict:
    """The translation coverage report (helpapi.admin, helpapi.content.index_coverage)."""
    counts = {"type": "integer"}
    slugs = {"type": "array", "items": {"type": "string"}}
    locale_coverage = {
        "type": "object",
        "properties": {
            "locale": {"type": "string"},
            "articles": counts,
            "linked": {**counts, "description": "articles linked to a source article"},
            "missing_count": counts,
            "missing": {**slugs, "description": "source slugs with no translation here"},
            "no_source_count": counts,
            "no_source": {**slugs, "description": "slugs here with no source article"},
            "outdated_count": counts,
            "outdated": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "slug": {"type": "string"},
                        "source": {"type": "string"},
                        "updated": {"type": "string", "format": "date"},
                        "source_updated": {"type": "string", "format": "date"},
                    },
                },
            },
            "undated": {**counts, "description": "linked, but a side has no date"},
            "inline": {**counts, "description": "linked to English inline in an sxs file"},
            "dates": {"type": "string", "description": "how freshness was told"},
        },
    }
    report = {
        "type": "object",
        "properties": {
            "generation": {"type": "string"},
            "source_locale": {"type": "string"},
            "source": {
                "type": "object",
                "properties": {
                    "articles": counts,
                    "from_source_folder": counts,
                    "from_sxs_english": counts,
                },
            },
            "locales": {"type": "array", "items": locale_coverage},
            "problem": {"type": "string", "description": "why coverage is not available"},
        },
    }
    return {
        "/v1/admin/coverage": {
            "get": {
                "summary": "Translation coverage per locale: missing source articles and "
                "translations older than their source, from the serving index.",
                "security": _BEARER,
                "parameters": [
                    _param("locale", "query", {"type": "string"}, "Only this locale."),
                    _param(
                        "limit",
                        "query",
                        {"type": "integer", "minimum": 0, "maximum": 100000, "default": 100},
                        "At most this many slugs in each list (the *_count fields are whole).",
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "The coverage report",
                        "content": {"application/json": {"schema": report}},
                    },
                    **_errors("400", "401", "403", "503"),
                },
            }
        }
    }


def _analytics_paths() -> dict:
    """Widget events, the insights API and /metrics."""
    filters = [
        _param("locale", "query", {"type": "string", "maxLength": 35}, "Locale asked for."),
        _param(
            "days",
            "query",
            {"type": "integer", "minimum": 1, "maximum": 3650, "default": 30},
            "Only the last days.",
        ),
        _param(
            "limit",
            "query",
            {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50},
            "Rows (per list).",
        ),
        _param("format", "query", {"enum": ["json", "csv"], "default": "json"}, "Answer format."),
    ]
    table = {
        "description": "JSON, or CSV with format=csv",
        "content": {"application/json": {"schema": {"type": "object"}}, "text/csv": {}},
    }

    def insight(summary: str, extra=()) -> dict:
        return {
            "get": {
                "summary": summary,
                "security": _BEARER,
                "parameters": [*filters, *extra],
                "responses": {"200": table, "400": _ERR, "401": _ERR, "403": _ERR},
            }
        }

    return {
        "/v1/events": {
            "post": {
                "summary": "Record a widget event (click, helpful, not_helpful) of a search.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["type", "article"],
                                "properties": {
                                    "type": {"enum": ["click", "helpful", "not_helpful"]},
                                    "query_id": {"type": "string", "maxLength": 64},
                                    "article": {
                                        "type": "string",
                                        "maxLength": 512,
                                        "description": "The result's slug (several articles "
                                        "can share one id).",
                                    },
                                    "locale": {
                                        "type": "string",
                                        "maxLength": 35,
                                        "description": "The result's locale.",
                                    },
                                    "id": {
                                        "type": "string",
                                        "maxLength": 512,
                                        "description": "The result's id, kept as extra.",
                                    },
                                    "position": {"type": "integer", "minimum": 0},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "204": {"description": "Recorded"},
                    "400": _ERR,
                    "413": _ERR,
                    "429": _ERR,
                },
            }
        },
        "/v1/admin/insights/queries": insight(
            "Top queries: searches, click-through rate, zero-result rate."
        ),
        "/v1/admin/insights/zero-results": insight("Top queries that found nothing."),
        "/v1/admin/insights/fallbacks": insight(
            "Per locale: share answered from English, top such queries, English articles "
            "clicked (the translation to-do list)."
        ),
        "/v1/admin/insights/articles": insight(
            "Per article (slug and locale, with its id): shown, clicked, helpful and not helpful.",
            [
                _param(
                    "sort",
                    "query",
                    {"enum": ["shown", "clicks", "helpful", "not_helpful"], "default": "shown"},
                    "Order.",
                )
            ],
        ),
        "/v1/admin/insights/daily": insight(
            "Per UTC day and locale: searches (final ones: keystrokes superseded by refines"
            " left out), requests (every search answered), zero_results, fallbacks, clicked"
            " (searches with a click), zero_result_rate, fallback_rate. The dashboard's series;"
            " limit does not apply."
        ),
        "/admin": _plain_get(
            "The insights dashboard (HTML; the admin token is typed into the page"
            " and sent as a Bearer header, never in a URL).",
            "text/html",
        ),
        "/admin/admin.js": _plain_get("The dashboard's script.", "text/javascript"),
        "/admin/admin.css": _plain_get("The dashboard's stylesheet.", "text/css"),
        "/metrics": _plain_get(
            "Prometheus metrics (Bearer HELPAPI_METRICS_TOKEN when set).",
            "text/plain; version=0.0.4",
            "401",
        ),
    }


def _ingest_paths() -> dict:
    """The ingestion routes (helpapi.ingest)."""
    locale = _param("locale", "path", {"type": "string"}, "Corpus folder, a BCP 47 tag", True)
    slug = _param("slug", "path", {"type": "string"}, "Relative path, may contain /", True)
    reindex = _param(
        "reindex",
        "query",
        {"type": "boolean", "default": True},
        "Start an incremental reindex job (202); false only writes (200).",
    )
    article = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "title": {"type": "string"},
            "markdown": {"type": "string"},
            "html": {"type": "string"},
            "front_matter": {"type": "object"},
        },
    }
    written = {
        "200": {"description": "Written; no job started (reindex=false)"},
        "202": {
            "description": "Written; the reindex job is in `job`, its URL in Location. With "
            "`follow_up: true` that job was already running and starts an incremental "
            "follow-up when it ends."
        },
        **_errors("400", "401", "403", "404", "409", "413", "415", "503"),
    }
    operation = {
        "type": "object",
        "required": ["op", "locale", "slug"],
        "properties": {
            "op": {"enum": ["put", "delete"]},
            "locale": {"type": "string"},
            "slug": {"type": "string"},
            **article["properties"],
        },
    }
    return {
        "/v1/admin/articles/{locale}/{slug}": {
            "put": {
                "summary": "Create or replace an article in the corpus folder.",
                "security": _BEARER,
                "parameters": [locale, slug, reindex],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": article},
                        "text/markdown": {"schema": {"type": "string"}},
                        "text/html": {"schema": {"type": "string"}},
                    },
                },
                "responses": written,
            },
            "delete": {
                "summary": "Remove an article from the corpus folder.",
                "security": _BEARER,
                "parameters": [locale, slug, reindex],
                "responses": written,
            },
        },
        "/v1/admin/articles:batch": {
            "post": {
                "summary": "Up to 1,000 put/delete operations (10 MB), validated before any write.",
                "security": _BEARER,
                "parameters": [reindex],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {
                                    "operations": {
                                        "type": "array",
                                        "maxItems": 1000,
                                        "items": operation,
                                    }
                                },
                            }
                        }
                    },
                },
                "responses": written,
            }
        },
    }
