"""A filter only removes matches (issue 18, item 6, stop 19).

The relaxed pass answers a query that matches no document strictly. A filter used to turn
it on whenever it removed every strict match, so that adding ``filter=audience:ITPro`` to a
query whose only match is an End User article answered every ITPro article sharing one of
its words ("reset the mailbox password": the ITPro articles holding "the" or "mailbox"), a
larger answer than the unfiltered one, while the disjunctive audience counts (the query
without its audience filter: the strict match) listed no ITPro value at all.

Now the passes are chosen as without the filter (strict, spelling-corrected, relaxed) and the
filter keeps what it keeps: a query the filter leaves without a match answers nothing (no
relaxed pass, no English fallback: the locale has the answer, the facet counts say where)."""

from __future__ import annotations

import pytest

from helpapi import facets
from helpapi.search import open_current
from helpapi.search import search

from .conftest import index_markdown
from .test_facets import md


def audience_articles() -> dict:
    """An End User article among ITPro ones, in en-US and fr-FR ({locale: {slug: markdown}}):
    this module's corpus and tests/test_filter_subset19b.py's."""
    en = {
        "reset": md("Reset the mailbox password", "Reset the password.", audience="End User"),
        "quota": md("Mailbox quota", "Raise the mailbox quota.", audience="ITPro"),
        "policy": md("Password policy", "Set the password policy.", audience="ITPro"),
        "rules": md("Transport rules", "Configure the transport rules.", audience="ITPro"),
        "relay": md("Mail relay", "Relay mail through a connector.", audience="ITPro"),
    }
    fr = {
        "reset": md("Réinitialiser le mot de passe", "Le mot de passe.", audience="End User"),
        "quota": md("Quota de boîte aux lettres", "Le quota de la boîte.", audience="ITPro"),
        "policy": md("Stratégie de mot de passe", "La stratégie.", audience="ITPro"),
        "relay": md("Relais de messagerie", "Relayer le courrier.", audience="ITPro"),
    }
    return {"en-US": en, "fr-FR": fr}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    return index_markdown(tmp_path_factory, "filter-subset19", audience_articles())


ITPRO = facets.Scope(filters=(("audience", ("itpro",)),))
ITPRO_COUNTED = facets.Scope(filters=(("audience", ("itpro",)),), facets=("audience",))


def _slugs(answer) -> set:
    return {r["slug"] for r in answer["results"]}


@pytest.mark.parametrize("text", ["reset the mailbox password", "reset the mailbox pasword"])
def test_a_filter_never_adds_matches(index, text):
    with open_current(index) as ixset:
        plain = search(ixset, text, "en-US", limit=50)
        filtered = search(ixset, text, "en-US", limit=50, scope=ITPRO)
        assert _slugs(plain) == {"reset"}
        # The only match is an End User article: the ITPro filter leaves none.
        assert filtered["total"] == 0 and filtered["results"] == []
        assert _slugs(filtered) <= _slugs(plain)


def test_the_selected_value_counts_what_the_answer_holds(index):
    with open_current(index) as ixset:
        answer = search(ixset, "reset the mailbox password", "en-US", scope=ITPRO_COUNTED)
        counts = {row["value"]: row["count"] for row in answer["facets"]["audience"]}
        # The audience counts show where the matches are, and the ITPro count is the total.
        assert counts == {"end user": 1}
        assert answer["total"] == counts.get("itpro", 0)


def test_no_english_fallback_when_the_filter_removed_the_matches(index):
    with open_current(index) as ixset:
        answer = search(ixset, "réinitialiser le mot de passe", "fr-FR", scope=ITPRO)
        assert answer["locale"] == "fr-FR" and not answer["fallback"]
        assert answer["total"] == 0


def test_the_relaxed_pass_still_runs_when_nothing_matches_strictly(index):
    with open_current(index) as ixset:
        # No article holds every word: the relaxed pass, filtered, is within the unfiltered one.
        text = "mailbox password zzyzx"
        plain = search(ixset, text, "en-US", limit=50)
        filtered = search(ixset, text, "en-US", limit=50, scope=ITPRO)
        assert filtered["total"] > 0
        assert _slugs(filtered) <= _slugs(plain)
        assert "reset" in _slugs(plain) and "reset" not in _slugs(filtered)


def test_a_filter_that_keeps_a_strict_match_answers_it(index):
    with open_current(index) as ixset:
        answer = search(ixset, "mailbox quota", "en-US", scope=ITPRO)
        assert _slugs(answer) == {"quota"}
