"""Filters, facet counts and the ``updated`` sort over front-matter fields (issue #18).

At build time :class:`Collector` gathers, per document number of a locale's index, the labels
of the facet fields (``HELPAPI_FACETS``, parsed by :func:`helpapi.corpus.label_values`) and
the ``updated`` date, and writes ``facets.json`` beside ``postings.bin``. The file is two
lines: a header (format, version, fields, document count), checked when a generation opens
(:func:`check`, like :func:`helpapi.memindex.check`), then the data: per field, per normalized
value (case-folded, whitespace collapsed), its display label and sorted document numbers; and
each document's date as ``YYYYMMDD`` (0 when undated).

At query time a field is named by its short name (the part after the last dot: ``ms.audience``
is ``audience``). :class:`Scope` holds a request's filters, facets and sort; the engine passes
take :meth:`FacetData.allowed` as a candidate restriction, so ``total`` is exact. Filters AND
across fields and OR within one; facet counts are disjunctive (a field's counts apply every
filter but its own, as Algolia and Elasticsearch's post_filter do).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import threading
from collections import Counter
from operator import itemgetter
from pathlib import Path

from .corpus import MAX_LABEL_CHARS
from .corpus import facet_keys

FILENAME = "facets.json"
FORMAT = "helpapi-facets"
VERSION = 1
MAX_HEADER = 64 * 1024
MAX_FILTERS = 20  # filter parameters per request
MAX_FILTER_CHARS = MAX_LABEL_CHARS + 64
MAX_FACET_VALUES = 100  # values listed per facet, most frequent first
SORTS = ("relevance", "updated")


def normalize(value: str) -> str:
    """A label's matching form: case-folded, whitespace trimmed and collapsed."""
    return " ".join(str(value).split()).casefold()


def short_name(key: str) -> str:
    """The public name of a front-matter field: the part after its last dot."""
    return key.rsplit(".", 1)[-1]


def short_names(keys=None) -> dict[str, str]:
    """``{short name: front-matter key}`` of the configured facet fields (first key wins)."""
    out: dict[str, str] = {}
    for key in facet_keys() if keys is None else keys:
        out.setdefault(short_name(key), key)
    return out


def _date_number(iso: str | None) -> int:
    if not iso:
        return 0
    try:
        return int(iso[:10].replace("-", ""))
    except ValueError:
        return 0


class Collector:
    """Facet labels and dates of one locale's documents, in document-number order."""

    def __init__(self, keys: tuple[str, ...] | None = None):
        self.keys = tuple(facet_keys() if keys is None else keys)
        self.values: dict[str, dict[str, list[int]]] = {k: {} for k in self.keys}
        self.spellings: dict[str, dict[str, Counter]] = {k: {} for k in self.keys}
        self.updated: list[int] = []

    def add(self, article) -> None:
        """Record the next document (its number is the count added before it)."""
        doc = len(self.updated)
        self.updated.append(_date_number(article.updated))
        for key in self.keys:
            for label in article.labels.get(key, ()):
                norm = normalize(label)
                self.values[key].setdefault(norm, []).append(doc)
                self.spellings[key].setdefault(norm, Counter())[label] += 1

    def write(self, path: Path) -> None:
        """Write ``facets.json`` (header line, data line)."""
        header = {
            "format": FORMAT,
            "version": VERSION,
            "fields": list(self.keys),
            "documents": len(self.updated),
        }
        fields = {}
        for key in self.keys:
            fields[key] = {
                norm: [self.spellings[key][norm].most_common(1)[0][0], docs]
                for norm, docs in sorted(self.values[key].items())
            }
        data = {"fields": fields, "updated": self.updated}
        with open(path, "w", encoding="utf-8") as f:
            f.write(json.dumps(header, ensure_ascii=False) + "\n")
            f.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")


def _header(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        line = f.readline(MAX_HEADER)
    header = json.loads(line)
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError("not a facets file")
    return header


def check(folder: Path, keys: tuple[str, ...] | None = None) -> str | None:
    """None when ``folder``'s facets file can be served, else why not.

    With ``keys`` (a build carrying a locale over), a file built for other facet fields is
    reported too, so that the locale is rebuilt for the fields now configured.
    """
    path = Path(folder) / FILENAME
    if not path.exists():
        return f"{FILENAME}: missing"
    try:
        header = _header(path)
    except (OSError, ValueError) as exc:
        return f"{FILENAME}: unreadable ({exc})"
    if header.get("version") != VERSION:
        return f"{FILENAME}: version {header.get('version')}, expected {VERSION}"
    if keys is not None and tuple(header.get("fields") or ()) != tuple(keys):
        return f"{FILENAME}: built for other facet fields"
    return None


class Allowed(frozenset):
    """A filter's document numbers (:meth:`FacetData.allowed`), with the forms the engine
    passes read it in, each made once per filter and kept with it (the set is cached across
    requests): :attr:`ordered` (sorted, for an intersection starting from the filter) and
    :attr:`zeros` (``{doc: 0.0}``, whose ``get`` probes it at C speed)."""

    @functools.cached_property
    def ordered(self) -> list[int]:
        """The documents, ascending."""
        return sorted(self)

    @functools.cached_property
    def zeros(self) -> dict[int, float]:
        """``{doc: 0.0}`` of the documents: a required clause scoring 0."""
        return dict.fromkeys(self.ordered, 0.0)


class FacetData:
    """One locale's facet data, loaded from ``facets.json``."""

    def __init__(self, keys: tuple[str, ...], values: dict, updated: list[int]):
        self.keys = keys
        # short name -> {normalized value: (label, frozenset of document numbers)}
        self.fields: dict[str, dict[str, tuple[str, frozenset]]] = {}
        for key in keys:
            name = short_name(key)
            if name not in self.fields:
                self.fields[name] = {
                    norm: (label, frozenset(docs))
                    for norm, (label, docs) in values.get(key, {}).items()
                }
        self.updated = updated
        self._allowed: dict = {}
        self._lock = threading.Lock()

    @classmethod
    def empty(cls) -> FacetData:
        """No facet data (a generation built before facets): every filter matches nothing."""
        return cls((), {}, [])

    @classmethod
    def load(cls, folder: Path) -> FacetData:
        """Read ``folder/facets.json``; ValueError when it is not a facets file of this
        version. A missing file gives :meth:`empty`."""
        path = Path(folder) / FILENAME
        if not path.exists():
            return cls.empty()
        with open(path, encoding="utf-8") as f:
            header = json.loads(f.readline(MAX_HEADER))
            data = json.loads(f.readline())
        if header.get("format") != FORMAT or header.get("version") != VERSION:
            raise ValueError(f"{FILENAME}: not a version {VERSION} facets file")
        updated = data["updated"]
        if len(updated) != header["documents"]:
            raise ValueError(f"{FILENAME}: truncated")
        return cls(tuple(header["fields"]), data["fields"], updated)

    def allowed(self, filters: tuple, skip: str | None = None) -> Allowed | None:
        """Document numbers passing ``filters`` (``((name, (values...)), ...)``), leaving out
        the field ``skip``; None when nothing restricts. Kept for the next request (bounded)."""
        key = (filters, skip)
        found = self._allowed.get(key)
        if found is not None:
            return found
        out = None
        for name, values in filters:
            if name == skip:
                continue
            table = self.fields.get(name, {})
            docs = frozenset().union(*(table[v][1] for v in values if v in table))
            out = docs if out is None else out & docs
        if out is not None:
            out = Allowed(out)
            with self._lock:
                if len(self._allowed) >= 256:
                    self._allowed.clear()
                self._allowed[key] = out
        return out

    def counts(self, name: str, docs) -> list[dict]:
        """``[{"value", "label", "count"}]`` of field ``name`` over ``docs`` (a set), most
        frequent first, at most :data:`MAX_FACET_VALUES`; values counting 0 are left out."""
        rows = []
        for norm, (label, members) in self.fields.get(name, {}).items():
            n = len(docs & members) if len(docs) < len(members) else len(members & docs)
            if n:
                rows.append({"value": norm, "label": label, "count": n})
        rows.sort(key=lambda r: (-r["count"], r["value"]))
        return rows[:MAX_FACET_VALUES]

    def date_key(self):
        """Sort key of a ``(docnum, score)`` for ``sort=updated``: newest first, undated last."""
        updated = self.updated
        size = len(updated)
        return lambda item: -updated[item[0]] if item[0] < size else 0


@dataclasses.dataclass(frozen=True)
class Scope:
    """A request's filters (``((name, (normalized values...)), ...)``, sorted), the facets to
    count, and the sort. Hashable: part of the result-cache key."""

    filters: tuple = ()
    facets: tuple = ()
    sort: str = "relevance"
    # False: the run is for facet counts, which read its set of matches only: no order is
    # made beyond the passes' own (no proximity re-ranking, no sort), see :meth:`without`.
    ranks: bool = True

    @property
    def plain(self) -> bool:
        """Nothing asked: searches run exactly as without this module."""
        return not self.filters and not self.facets and self.sort == "relevance"

    def without(self, name: str) -> Scope:
        """The same filters but field ``name``'s, no facets, and no order asked (for counts:
        :func:`facet_counts` reads the run's set of matches, so it is not re-ranked)."""
        return Scope(tuple(f for f in self.filters if f[0] != name), (), "relevance", False)


class ScopeError(ValueError):
    """A bad filter, facet or sort parameter: ``param`` names it."""

    def __init__(self, param: str, reason: str):
        super().__init__(reason)
        self.param, self.reason = param, reason


def parse_scope(filters: list[str], facets: list[str], sort: str, known: dict) -> Scope:
    """A :class:`Scope` from request parameters; :class:`ScopeError` when one is bad.

    ``filters``: ``name:value`` items (a value may list several, comma-separated: OR);
    ``facets``: names, each item possibly a comma list; ``known``: :func:`short_names`.
    """
    names = ", ".join(sorted(known)) or "(none configured)"
    if len(filters) > MAX_FILTERS:
        raise ScopeError("filter", f"at most {MAX_FILTERS} filters, got {len(filters)}")
    chosen: dict[str, set] = {}
    for item in filters:
        if len(item) > MAX_FILTER_CHARS:
            raise ScopeError("filter", f"must be at most {MAX_FILTER_CHARS} characters")
        name, sep, value = item.partition(":")
        name = name.strip()
        if not sep or not name:
            raise ScopeError("filter", f"must be name:value (known names: {names})")
        if name not in known:
            raise ScopeError("filter", f"unknown facet {name[:40]!r}; known: {names}")
        values = {normalize(v) for v in value.split(",")} - {""}
        if not values:
            raise ScopeError("filter", f"{name}: the value must not be empty")
        chosen.setdefault(name, set()).update(values)
    wanted: list[str] = []
    for item in facets:
        for name in item.split(","):
            name = name.strip()
            if not name:
                continue
            if name not in known:
                raise ScopeError("facets", f"unknown facet {name[:40]!r}; known: {names}")
            if name not in wanted:
                wanted.append(name)
    sort = (sort or "relevance").strip()
    if sort not in SORTS:
        raise ScopeError("sort", f"must be one of {', '.join(SORTS)}")
    return Scope(
        tuple(sorted((k, tuple(sorted(v))) for k, v in chosen.items())), tuple(wanted), sort
    )


def facet_counts(ixset, run, text, locale, prefix, scope: Scope, matched) -> dict:
    """``{name: counts}`` of ``scope.facets`` for a query whose matches (under every filter)
    are ``matched``: a filtered field is counted over one more run without its own filter."""
    data = ixset.facets[locale]
    out = {}
    for name in scope.facets:
        docs = matched
        if any(f[0] == name for f in scope.filters):
            found = run(ixset, text, locale, 0, 0, prefix, scope=scope.without(name))
            docs = matched_docs(found.ranked)
        out[name] = data.counts(name, docs)
    return out


def matched_docs(ranked) -> set:
    """The document numbers of a run's ``(docnum, score)`` matches (None: none), gathered in
    C: a relaxed run counted for facets has thousands."""
    return set(map(itemgetter(0), ranked or ()))


def allowed_in(ixset, locale: str, scope: Scope | None):
    """The documents of ``locale`` that ``scope``'s filters let through; None when unfiltered."""
    if scope is None or not scope.filters:
        return None
    return ixset.facets[locale].allowed(scope.filters)
