"""Review of stop 20 (reproductions in the reviewer's notes): the verbatim gate and the
corrected text.

* The gate (helpapi.verbatim) compared raw bytes while the index unifies the apostrophes
  (helpapi.analysis._APOSTROPHES): a query typed with ASCII ' kept its extra only for bodies
  that happen to use ASCII.
* The gate compared the query as typed, not as clean_text leaves it (the corpus is cleaned
  alike): an NFD query, or one with a soft hyphen, never matched a body.
* query.replacements only moved past corrected units: "outlook outloo" was corrected inside
  its first word ("outlookk outloo").
* The gate's work on a body (the markup left out, the spaces made single again) was not all
  counted against ranking.VERBATIM_MAX_BYTES: bodies full of ``[ ] \\`` holding the fragment
  cost several times their size.
"""

from __future__ import annotations

import unicodedata

import pytest

from helpapi import ranking
from helpapi import verbatim
from helpapi.query import corrected_title_key
from helpapi.query import query_title_key
from helpapi.query import replaced_text
from helpapi.query import replacements
from helpapi.search import search

from .conftest import markdown_index_fixture
from .conftest import md_article
from .conftest import search_slugs

# A fragment copied from the body that writes ’ (typed with ASCII ' on a keyboard).
FRAGMENT = "ouvrez le centre d'administration de sécurité"
# Another, with no apostrophe (the source's body too).
SECOND = "choisissez la stratégie qui convient"

CORPUS = {
    "fr-FR": {
        # A title holding a word of the fragment, its body the words in a row across a quote
        # (ASCII apostrophe) ...
        "quoted": md_article(
            "Paramètres de sécurité du centre",
            "Si un message indique « ouvrez le centre » d'administration de sécurité, "
            "vérifiez les autorisations du compte.",
        ),
        # ... and the body the fragment was copied from, with a typographic apostrophe.
        "source": md_article(
            "Gérer les alertes de votre organisation",
            "Pour voir les alertes, ouvrez le centre d\u2019administration de sécurité puis "
            "choisissez la stratégie qui convient à votre organisation et enregistrez-la.",
        ),
        # A title holding a word of SECOND, its body the words in a row across a quote.
        "quoted-second": md_article(
            "Choisir une stratégie",
            "Le bouton « choisissez la stratégie » qui convient ne s'affiche pas toujours : "
            "rechargez la page du portail.",
        ),
        **{
            f"filler-{i}": md_article(f"Note {i}", f"Texte numéro {i} sur les alertes.")
            for i in range(30)
        },
    },
    "de-DE": {
        "mail": md_article(
            "E-Mail einrichten",
            "Richten Sie Outlook für Ihr Konto ein und öffnen Sie dann Outlook erneut.",
        ),
        **{f"filler-{i}": md_article(f"Notiz {i}", f"Text Nummer {i}.") for i in range(30)},
    },
}


corpus = markdown_index_fixture("review20", CORPUS)


def test_the_gate_unifies_apostrophes_as_the_index_does(corpus):
    assert (
        verbatim.needles("l\u2019une")
        == verbatim.needles("l'une")
        == verbatim.needles("l\uff07une")
    )
    typed = search_slugs(corpus, FRAGMENT, "fr-FR")
    assert typed[:2] == ["source", "quoted"]
    for apostrophe in "\u2019\u02bc\uff07":
        assert search_slugs(corpus, FRAGMENT.replace("'", apostrophe), "fr-FR") == typed


def test_holders_reads_a_body_apostrophe_as_the_query_one(corpus):
    shown = corpus.display["fr-FR"]
    number = {shown.hit(d)[0]: d for d in range(shown.doc_count)}
    docs = [number["quoted"], number["source"]]
    assert verbatim.holders(shown, FRAGMENT, docs) == {number["source"]}


@pytest.mark.parametrize(
    "variant",
    [
        unicodedata.normalize("NFD", SECOND),
        SECOND.replace("stratégie", "stra\u00adtégie"),
        SECOND.replace("convient", "con\u200bvient"),
    ],
)
def test_the_gate_compares_the_cleaned_query(corpus, variant):
    typed = search_slugs(corpus, SECOND, "fr-FR")
    assert typed[:2] == ["source", "quoted-second"]
    assert search_slugs(corpus, variant, "fr-FR") == typed


def test_a_correction_is_not_made_inside_an_earlier_word(corpus):
    answer = search(corpus, "outlook outloo", "de-DE", limit=3)
    assert answer["corrected"] == "outlook outlook"
    assert [h["slug"] for h in answer["results"]] == ["mail"]


class _Unit:
    def __init__(self, text: str, term: str):
        self.text, self.term = text, term


@pytest.mark.parametrize(
    ("text", "typed", "fixed", "want"),
    [
        ("outlook outloo", ["outlook", "outloo"], ["outlook", "outlook"], "outlook outlook"),
        ("kennwort kennwor", ["kennwort", "kennwor"], ["kennwort", "kennwort"], None),
        ("ab outloo", ["ab", "outloo"], ["ab", "outlook"], "ab outlook"),
    ],
)
def test_replacements_move_past_unchanged_units(text, typed, fixed, want):
    units = [_Unit(t, t) for t in typed]
    fixes = [_Unit(t, f) for t, f in zip(typed, fixed, strict=True)]
    replaced = replacements(text, units, fixes)
    corrected = replaced_text(text, replaced)
    assert corrected == (want or " ".join(fixed))
    # The title key made from the spans is the corrected text's own.
    key = corrected_title_key(text, replaced, "de-DE")
    assert key == query_title_key(corrected, "de-DE")


class _Bodies:
    """A display of bodies as helpapi.verbatim reads them (``folded_bytes``)."""

    def __init__(self, bodies: list[bytes]):
        self.bodies = bodies

    def folded_bytes(self, d: int) -> memoryview:
        return memoryview(self.bodies[d])


def test_the_work_on_a_body_counts_against_the_budget(monkeypatch):
    # A body holding the fragment, full of marks left out (its spaces made single again in
    # several passes), then the body holding it with its spaces as typed.
    marks = b"nekad till en delad mapp " + b"[ ] \\ " * 4000
    source = b"text nekad till en delad mapp text"
    shown = _Bodies([marks, source])
    assert verbatim.holders(shown, "nekad till en delad mapp", [0, 1]) == {0, 1}
    # Room for reading both bodies once, not for the passes over the first: nothing known
    # of either after it, so nothing tells them apart.
    monkeypatch.setattr(ranking, "VERBATIM_MAX_BYTES", len(marks) + len(source))
    assert verbatim.holders(shown, "nekad till en delad mapp", [0, 1]) is None


def test_the_apostrophes_as_typed_come_first_then_any():
    # A copy keeps its source's apostrophe: the bodies holding it as typed when some do
    # (as the spaces), else those holding it with any apostrophe the index takes for '.
    curly = "ouvrez le centre d\u2019administration".encode()
    plain = b"ouvrez le centre d'administration"
    shown = _Bodies([b"a " + curly + b" b", b"c " + plain + b" d"])
    assert verbatim.holders(shown, "centre d'administration", [0, 1]) == {1}
    assert verbatim.holders(shown, "centre d\u2019administration", [0, 1]) == {0}
    assert verbatim.holders(shown, "centre d\u02bcadministration", [0, 1]) == {0, 1}
    assert verbatim.holders(_Bodies([curly]), "centre d'administration", [0]) == {0}
