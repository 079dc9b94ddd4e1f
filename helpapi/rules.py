"""Query rules: pin articles first, or hide them, for chosen queries. No Flask here.

``<corpus>/_config/rules.yml``::

    rules:
      - query: reset password      # compared normalized (case, spacing, width)
        match: exact               # or: contains (the query holds the phrase)
        locales: [en-US, de-DE]    # optional; default every locale
        pin: [reset-your-password, password-policy]   # first, in this order
        hide: [old-password-faq]   # never listed

The YAML is read with the corpus loader that refuses aliases, and checked node by node so
that an error names its line.
"""

from __future__ import annotations

import dataclasses
import re

import yaml

from .analysis import GRAM_RUN
from .corpus import _NoAliasLoader
from .corpus import is_locale_folder
from .query import normalize_query

MAX_RULES = 10_000
MAX_SLUGS = 50
_KEYS = {"query", "match", "locales", "pin", "hide"}
_SLUG = re.compile(r"^[^\x00-\x1f]{1,512}$")


class RuleError(ValueError):
    """A rules file that is not valid; ``line`` is 1-based (0 when the file is unreadable)."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}" if line else message)
        self.line, self.reason = line, message


@dataclasses.dataclass(frozen=True)
class Rule:
    """One query rule."""

    line: int
    query: str  # normalized
    match: str  # "exact" or "contains"
    locales: frozenset[str] | None  # lower-case tags; None: every locale
    pin: tuple[str, ...]
    hide: tuple[str, ...]

    def applies(self, normalized: str, locale: str) -> bool:
        """Whether this rule fires for the normalized query in ``locale``."""
        if self.locales is not None and locale.lower() not in self.locales:
            return False
        if self.match == "exact":
            return normalized == self.query
        if GRAM_RUN.search(self.query):
            return self.query in normalized  # no spaces between words in those scripts
        return f" {self.query} " in f" {normalized} "


def _line(node) -> int:
    return node.start_mark.line + 1


def _scalar(node, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
        raise RuleError(_line(node), f"{what} must be a non-empty text")
    return str(node.value).strip()


def _list(node, what: str) -> list[str]:
    if isinstance(node, yaml.ScalarNode):
        return [_scalar(node, what)]
    if not isinstance(node, yaml.SequenceNode):
        raise RuleError(_line(node), f"{what} must be a list")
    return [_scalar(item, f"each of {what}") for item in node.value]


def _rule(node) -> Rule:
    if not isinstance(node, yaml.MappingNode):
        raise RuleError(_line(node), "each rule must be a mapping (query:, pin: or hide:)")
    fields = {}
    for key_node, value in node.value:
        key = _scalar(key_node, "a key")
        if key not in _KEYS:
            known = ", ".join(sorted(_KEYS))
            raise RuleError(_line(key_node), f"unknown key {key!r}; known: {known}")
        if key in fields:
            raise RuleError(_line(key_node), f"key {key!r} given twice")
        fields[key] = value
    line = _line(node)
    if "query" not in fields:
        raise RuleError(line, "a rule needs a query")
    query = normalize_query(_scalar(fields["query"], "query"))
    if not query:
        raise RuleError(_line(fields["query"]), "the query has no words")
    match = _scalar(fields["match"], "match") if "match" in fields else "exact"
    if match not in ("exact", "contains"):
        raise RuleError(_line(fields["match"]), f"match must be exact or contains, got {match!r}")
    locales = None
    if "locales" in fields:
        tags = _list(fields["locales"], "locales")
        bad = [t for t in tags if not is_locale_folder(t)]
        if bad:
            raise RuleError(_line(fields["locales"]), f"not a locale tag: {bad[0]!r}")
        locales = frozenset(t.replace("_", "-").lower() for t in tags)
    slugs = {}
    for key in ("pin", "hide"):
        values = _list(fields[key], key) if key in fields else []
        if len(values) > MAX_SLUGS:
            raise RuleError(_line(fields[key]), f"{key} lists more than {MAX_SLUGS} articles")
        for v in values:
            if not _SLUG.match(v):
                raise RuleError(_line(fields[key]), f"{key}: not an article slug: {v[:40]!r}")
        slugs[key] = tuple(dict.fromkeys(values))
    if not slugs["pin"] and not slugs["hide"]:
        raise RuleError(line, "a rule needs pin: or hide: (article slugs)")
    both = set(slugs["pin"]) & set(slugs["hide"])
    if both:
        raise RuleError(line, f"{sorted(both)[0]!r} is both pinned and hidden")
    return Rule(line, query, match, locales, slugs["pin"], slugs["hide"])


def parse(text: str) -> list[Rule]:
    """The rules of a ``rules.yml`` text; :class:`RuleError` naming the first bad line."""
    try:
        root = yaml.compose(text, Loader=_NoAliasLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise RuleError(mark.line + 1 if mark else 0, f"not valid YAML: {exc.problem}") from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise RuleError(0, f"not valid YAML: {type(exc).__name__}") from None
    if root is None:
        return []
    if isinstance(root, yaml.MappingNode):
        items = dict((_scalar(k, "a key"), (k, v)) for k, v in root.value)
        extra = sorted(set(items) - {"rules"})
        if extra:
            raise RuleError(_line(items[extra[0]][0]), f"unknown key {extra[0]!r}; use rules:")
        if "rules" not in items:
            return []
        root = items["rules"][1]
        if isinstance(root, yaml.ScalarNode) and root.value in ("", "null", "~"):
            return []
    if not isinstance(root, yaml.SequenceNode):
        raise RuleError(_line(root), "rules must be a list of rules")
    if len(root.value) > MAX_RULES:
        raise RuleError(_line(root), f"more than {MAX_RULES} rules")
    return [_rule(node) for node in root.value]


def matching(rules: list[Rule], normalized: str, locale: str) -> tuple[list[str], set[str]]:
    """``(slugs to pin in order, slugs to hide)`` of every rule that fires (file order)."""
    pins: list[str] = []
    hides: set[str] = set()
    for rule in rules:
        if rule.applies(normalized, locale):
            pins += [s for s in rule.pin if s not in pins]
            hides.update(rule.hide)
    return [s for s in pins if s not in hides], hides


__all__ = ["Rule", "RuleError", "matching", "parse"]
