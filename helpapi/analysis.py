"""Text analysis: ICU word breaking and script-aware filters, packaged as Whoosh analyzers.

They run in the indexer (:func:`helpapi.schema.analyze_document`) and on queries, never inside
Whoosh: the index's schema, which Whoosh pickles, holds Whoosh's own classes only.

Three chains exist for every locale (see :func:`analyzers_for`):

* ``words``: ICU word segments, NFKC + case folded, elision stripped where the language elides.
  This is what the strict search pass matches, and what ``/v1/analyze`` shows.
* ``stems``: ``words`` plus Whoosh's stemmer for the language (when it has one) and diacritic
  folding for alphabetic scripts. Used only by the relaxed second pass.
* ``grams``: overlapping character bigrams over runs of scripts written without spaces (Han,
  kana, Thai, Lao, Khmer, Myanmar, Hangul), so that a query cut in the middle of a word still
  matches as a phrase of bigrams.

>>> [t.text for t in words_analyzer("ja-JP")("通話のレコーディング")]
['通話', 'の', 'レコーディング']
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Callable

import icu
from whoosh.analysis import Filter
from whoosh.analysis import StemFilter
from whoosh.analysis import Token
from whoosh.analysis import Tokenizer
from whoosh.lang import NoStemmer

# Bump when the same text gives other terms (index and queries must agree on them): an incremental
# build rebuilds every locale of a generation made under another :func:`version`, rather than
# carrying its terms over beside new ones. 2: spaces ICU keeps in a word, invisible marks.
VERSION = 2


def version() -> str:
    """What the terms of a text depend on besides its bytes: :data:`VERSION`, and the ICU word
    break rules and Unicode data (NFKC, case folding) they were made with."""
    return f"{VERSION}|icu {icu.ICU_VERSION}|unicode {unicodedata.unidata_version}"


# Characters that are invisible formatting: removed from text before analysis, so that they
# never split a word ("Micro\u200bsoft" is "Microsoft") nor glue two words together.
_INVISIBLE = re.compile("[\u00ad\u200b\u2060\ufeff\u180e]")
# Joiners carry meaning inside some scripts' rendering, so the stored text keeps them, but a
# search term never depends on them.
_JOINERS = str.maketrans("", "", "\u200c\u200d\u0640")  # ZWNJ, ZWJ, Arabic tatweel


def _code_points(uset: icu.UnicodeSet) -> list[str]:
    return [chr(c) for lo, hi in uset.ranges() for c in range(ord(lo), ord(hi) + 1)]


# Invisible characters that ICU's word breaking keeps inside the word they touch (Word_Break
# Format, Extend, ZWJ: bidi marks such as U+200E around "Microsoft", ZWJ, variation selectors):
# a term never holds one, as Unicode's NFKC_Casefold drops them. Letters that are default
# ignorable (the Hangul fillers) stay.
_JOINERS.update(
    dict.fromkeys(
        map(ord, _code_points(icu.UnicodeSet("[[:Default_Ignorable_Code_Point:]-[:L:]-[:Cn:]]")))
    )
)
# Space characters whose Word_Break class joins them to a word. UAX #29 makes U+202F NARROW NO-BREAK
# SPACE ExtendNumLet (Unicode 11, for Mongolian suffixes), so ICU reads "> \u202fpersonnalisation"
# and "10\u202f000" as one word each, whose term (NFKC turns U+202F into U+0020) starts with or
# holds a space and never matches what a user types. Every other space (U+0020, U+00A0, U+2007,
# U+3000, ...) is WSegSpace or Other, which ICU breaks at. ICU is given the text with these
# turned into U+0020 (one BMP character for one: offsets are unchanged), and the words are taken
# from the text as written, so snippets and the display keep the character.
_GLUING_SPACES = tuple(
    _code_points(
        icu.UnicodeSet(
            "[[:Z:]&[[:WordBreak=ExtendNumLet:][:WordBreak=Format:][:WordBreak=Extend:]"
            "[:WordBreak=ZWJ:][:WordBreak=MidLetter:][:WordBreak=MidNum:][:WordBreak=MidNumLet:]]]"
        )
    )
)
_SPACED = str.maketrans(dict.fromkeys(_GLUING_SPACES, " "))


def breakable(text: str) -> str:
    """``text`` as ICU's word breaking is given it: the space characters it would keep inside a
    word (:data:`_GLUING_SPACES`, U+202F) as U+0020. Same length, same offsets."""
    # Few texts hold one: a str search per character (one today) costs less than translate.
    for char in _GLUING_SPACES:
        if char in text:
            return text.translate(_SPACED)
    return text


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'", "\uff07": "'"})
_NON_BMP = re.compile("[\U00010000-\U0010ffff]")

# ICU word-break rule status: below 100 is "not a word" (spaces, punctuation, symbols).
_UBRK_WORD_NONE_LIMIT = 100

# Languages whose articles/pronouns elide before a vowel ("l'utilisateur"), after Lucene's
# ElisionFilter defaults. Per language family, never per query.
ELISIONS: dict[str, frozenset[str]] = {
    "fr": frozenset("l m t qu n s j d c jusqu quoiqu lorsqu puisqu".split()),
    "it": frozenset(
        "c l all dall dell nell sull coll pell gl agl dagl degl negl sugl un m t s v d".split()
    ),
    "ca": frozenset("d l m n s t".split()),
    "ga": frozenset("d m b".split()),
}

# Scripts written without spaces between words (plus Hangul, whose words carry attached
# particles): their runs are indexed as character bigrams.
_GRAM_SET = icu.UnicodeSet(
    "[[:Han:][:Hiragana:][:Katakana:][:Bopomofo:][:Thai:][:Lao:][:Khmer:][:Myanmar:]"
    "[:Hangul:]\u30fc\u3005\u3006\u303b]"
)


def _char_class(uset: icu.UnicodeSet) -> str:
    """Turn an ICU UnicodeSet into a Python regex character class."""
    parts = []
    for start, end in uset.ranges():
        lo, hi = ord(start), ord(end)
        parts.append(
            re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}"
        )
    return "[" + "".join(parts) + "]"


_GRAM_CHARS = _char_class(_GRAM_SET)
GRAM_RUN = re.compile(_GRAM_CHARS + "+")

# Alphabetic scripts whose combining marks are diacritics that users often leave out
# (Latin, Greek, Cyrillic, Hebrew points, Arabic harakat). Marks on other scripts (Thai
# vowels, Indic vowel signs) are letters in all but name and are never stripped.
_FOLDABLE_BASE = re.compile(
    "[\u0041-\u024f\u1e00-\u1eff\u0370-\u03ff\u1f00-\u1fff\u0400-\u052f"
    "\u0590-\u05ff\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff]"
)


_INVISIBLE_CHARS = "\u00ad\u200b\u2060\ufeff\u180e"  # _INVISIBLE's


def clean_text(text: str) -> str:
    """NFC-normalize ``text`` and drop invisible formatting characters."""
    text = unicodedata.normalize("NFC", text)
    # Nearly no text holds one: five str searches cost a tenth of the pattern's scan.
    for char in _INVISIBLE_CHARS:
        if char in text:
            return _INVISIBLE.sub("", text)
    return text


def language_of(locale: str) -> str:
    """The primary language subtag of a locale code (``"de-DE"`` -> ``"de"``)."""
    return locale.replace("_", "-").split("-", 1)[0].lower() or "und"


@functools.lru_cache(maxsize=200_000)
def normalize_term(text: str, dotless_i: bool = False) -> str:
    """NFKC + case fold one token; joiners removed, apostrophes unified.

    ``dotless_i`` folds Turkish/Azeri dotless ı onto i, so queries typed on any keyboard match.
    """
    text = unicodedata.normalize("NFKC", text.translate(_JOINERS).translate(_APOSTROPHES))
    text = unicodedata.normalize("NFKC", text.casefold()).replace("i\u0307", "i")
    if dotless_i:
        text = text.replace("ı", "i")
    return text


@functools.lru_cache(maxsize=200_000)
def fold_diacritics(text: str) -> str:
    """Strip combining marks that sit on alphabetic-script letters (é -> e, й -> и, َ removed)."""
    if text.isascii():
        return text  # no ASCII character decomposes or is a mark
    decomposed = unicodedata.normalize("NFD", text)
    out = []
    base_foldable = False
    for ch in decomposed:
        if unicodedata.category(ch) == "Mn":
            if base_foldable:
                continue
        else:
            base_foldable = bool(_FOLDABLE_BASE.match(ch))
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def utf16_to_index(text: str):
    """Return a function mapping ICU's UTF-16 offsets to Python string indices for ``text``."""
    if not _NON_BMP.search(text):
        return None
    table = []
    for i, ch in enumerate(text):
        table.append(i)
        if ord(ch) > 0xFFFF:
            table.append(i)  # the low surrogate maps to the same code point
    table.append(len(text))
    return table.__getitem__


class IcuWordTokenizer(Tokenizer):
    """Split text into words with ICU's word break rules for ``locale``.

    Keeps segments ICU classifies as words (letters, numbers, kana, ideographs) and drops
    spaces, punctuation and symbols. Offsets are Python string indices even for text with
    characters outside the BMP. The ICU iterator is stateful, so each thread gets its own,
    and it is never pickled.

    >>> [t.text for t in IcuWordTokenizer("de-DE")("Öffnen Sie Outlook.")]
    ['Öffnen', 'Sie', 'Outlook']
    """

    def __init__(self, locale: str = "root"):
        self.locale = locale
        self._local = threading.local()

    def __getstate__(self):
        return {"locale": self.locale}

    def __setstate__(self, state):
        self.locale = state["locale"]
        self._local = threading.local()

    def __eq__(self, other):
        return type(self) is type(other) and self.locale == other.locale

    def __hash__(self):
        return hash((type(self), self.locale))

    def __repr__(self):
        return f"{type(self).__name__}({self.locale!r})"

    def _iterator(self):
        it = getattr(self._local, "it", None)
        if it is None:
            it = icu.BreakIterator.createWordInstance(icu.Locale(self.locale.replace("-", "_")))
            self._local.it = it
        return it

    def boundaries(self, text: str):
        """This thread's ICU word iterator over ``text`` as :func:`breakable` gives it (the
        word boundaries of ``text``, whose offsets they keep): every caller walking ICU's
        boundaries itself (the build's and the query's fast paths) starts here."""
        it = self._iterator()
        it.setText(breakable(text))
        return it

    def segments(self, text: str) -> list[tuple[int, int]]:
        """``(start, end)`` Python indices of each word in ``text``."""
        if not text:
            return []
        it = self.boundaries(text)
        # Collect eagerly: the iterator is shared by this thread's analyzers, and a consumer
        # may analyze other text before it has read all of ours.
        spans = []
        prev = it.first()
        for end in it:
            if it.getRuleStatus() >= _UBRK_WORD_NONE_LIMIT:
                spans.append((prev, end))
            prev = end
        to_index = utf16_to_index(text)
        if to_index is not None:
            spans = [(to_index(a), to_index(b)) for a, b in spans]
        return spans

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        spans = self.segments(value) if tokenize else [(0, len(value))]
        for pos, (start, end) in enumerate(spans):
            t.text = value[start:end]
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = t.text
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar = start_char + start
                t.endchar = start_char + end
            yield t


class ScriptBigramTokenizer(Tokenizer):
    """Overlapping character bigrams over runs of scripts written without spaces.

    A run of one character yields that character. Text in other scripts yields nothing. Runs are
    separated by a position gap so that a phrase of bigrams never spans two runs.

    >>> [t.text for t in ScriptBigramTokenizer()("Teams 通話の設定")]
    ['通話', '話の', 'の設', '設定']
    """

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for match in GRAM_RUN.finditer(value):
            for start, gram in run_bigrams(match.group()):
                t.text = normalize_term(gram)
                t.boost = 1.0
                t.stopped = False
                if keeporiginal:
                    t.original = gram
                if positions:
                    t.pos = pos
                if chars:
                    t.startchar = start_char + match.start() + start
                    t.endchar = t.startchar + len(gram)
                pos += 1
                yield t
            pos += 1  # gap: a phrase never crosses from one run into the next


def run_bigrams(run: str) -> list[tuple[int, str]]:
    """``(offset, bigram)`` pairs for one run; a one-character run is its own unit."""
    if len(run) == 1:
        return [(0, run)]
    return [(i, run[i : i + 2]) for i in range(len(run) - 1)]


class NormalizeFilter(Filter):
    """NFKC + full case folding; joiners dropped; Turkish dotless i folded where relevant."""

    def __init__(self, dotless_i: bool = False):
        self.dotless_i = dotless_i

    def __eq__(self, other):
        return type(self) is type(other) and self.dotless_i == other.dotless_i

    def __call__(self, tokens):
        dotless = self.dotless_i
        for t in tokens:
            t.text = normalize_term(t.text, dotless)
            if t.text:
                yield t


class ElisionFilter(Filter):
    """Strip an elided article or pronoun: ``l'utilisateur`` -> ``utilisateur``."""

    def __init__(self, articles: frozenset[str]):
        self.articles = articles

    def __eq__(self, other):
        return type(self) is type(other) and self.articles == other.articles

    def __call__(self, tokens):
        articles = self.articles
        for t in tokens:
            head, sep, tail = t.text.partition("'")
            if sep and tail and head in articles:
                t.text = tail
            yield t


_SPLIT = re.compile(r"[.,:_'\u00b7]")


class SplitFilter(Filter):
    """At index time, also index the parts of a word ICU keeps whole across . , : _ '.

    ``outlook.com``, ``8326.2146`` and ``Allow_Recording`` stay searchable as themselves *and*
    as ``outlook``, ``8326``, ``recording``. Parts share the word's position. Queries are not
    split (a query for ``outlook.com`` means that word).
    """

    def __eq__(self, other):
        return type(self) is type(other)

    def __call__(self, tokens):
        for t in tokens:
            text = t.text
            yield t
            if t.mode != "index" or not _SPLIT.search(text):
                continue
            start, end = (t.startchar, t.endchar) if t.chars else (None, None)
            offset = 0
            for part in _SPLIT.split(text):
                if part and part != text:
                    t.text = part
                    if start is not None and end - start == len(text):
                        t.startchar = start + offset
                        t.endchar = t.startchar + len(part)
                    yield t
                offset += len(part) + 1
            if start is not None:
                t.startchar, t.endchar = start, end


# Letters written onto the next word in Semitic languages (per language family, like ELISIONS):
# a user leaves them out ("סיסמה" for "הסיסמה", "مرور" for "المرور"). At index time the word is
# also indexed without them (ProcliticFilter). Hebrew: the proclitics ו ה ב ל כ ש, up to four
# stacked (וכשה...); not מ, which also begins a great many nouns (מדפסת, מסך, מחשב). Arabic:
# Lucene's ArabicStemmer prefixes, the article with its particles and the conjunction و.
_HEBREW_PROCLITIC = re.compile("^[ובהלכש]{1,4}")
_ARABIC_PROCLITIC = re.compile("^(?:[وف]?[بكل]?ال|[وف]?لل|و)")
PROCLITICS = {"he": _HEBREW_PROCLITIC, "ar": _ARABIC_PROCLITIC}
# A word stripped to fewer letters than this is too short to stand for the word.
MIN_PROCLITIC_REST = 3


# Orthographic variants that users type interchangeably, per script family (after Lucene's
# Arabic/Persian normalization filters): vowel marks dropped, letter variants unified.
_ARABIC_MARKS = re.compile("[\u064b-\u065f\u0670\u06d6-\u06ed]")
_ARABIC_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه"})
_PERSIAN_LETTERS = str.maketrans({"ك": "ک", "ي": "ی", "ى": "ی", "ة": "ه", "أ": "ا", "إ": "ا"})
_HEBREW_MARKS = re.compile("[\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7]")
SCRIPT_NORMALIZERS = {
    "ar": lambda t: _ARABIC_MARKS.sub("", t).translate(_ARABIC_LETTERS),
    "fa": lambda t: _ARABIC_MARKS.sub("", t).translate(_PERSIAN_LETTERS),
    "ur": lambda t: _ARABIC_MARKS.sub("", t).translate(_PERSIAN_LETTERS),
    "he": lambda t: _HEBREW_MARKS.sub("", t),
    "yi": lambda t: _HEBREW_MARKS.sub("", t),
}


class OrthographyFilter(Filter):
    """Unify spelling variants of one language (see ``SCRIPT_NORMALIZERS``)."""

    def __init__(self, lang: str):
        self.lang = lang

    def __eq__(self, other):
        return type(self) is type(other) and self.lang == other.lang

    def __call__(self, tokens):
        fix = SCRIPT_NORMALIZERS[self.lang]
        for t in tokens:
            t.text = fix(t.text)
            if t.text:
                yield t


class ProcliticFilter(Filter):
    """At index time, also index a word without its leading proclitic letters (each shorter
    form for Hebrew's stacked letters), at the word's position, like :class:`SplitFilter`'s
    parts: "הסיסמה" is found by "סיסמה", "والإعدادات" by "اعدادات". Queries are not
    stripped: a word typed with its letters means that form."""

    def __init__(self, lang: str):
        self.lang = lang

    def __eq__(self, other):
        return type(self) is type(other) and self.lang == other.lang

    def __call__(self, tokens):
        pattern = PROCLITICS[self.lang]
        for t in tokens:
            text = t.text
            yield t
            if t.mode != "index":
                continue
            found = pattern.match(text)
            if not found:
                continue
            start, end = (t.startchar, t.endchar) if t.chars else (None, None)
            for cut in range(1, found.end() + 1):
                rest = text[cut:]
                if len(rest) < MIN_PROCLITIC_REST:
                    break
                if self.lang == "ar" and cut not in _arabic_cuts(text, found.end()):
                    continue
                t.text = rest
                if start is not None and end - start == len(text):
                    t.startchar = start + cut
                yield t
            t.text = text
            if start is not None:
                t.startchar, t.endchar = start, end


def _arabic_cuts(text: str, end: int) -> set[int]:
    """Where an Arabic word may be cut: after the whole prefix, and after the particles
    before a final article (والمرور: المرور and مرور)."""
    cuts = {end}
    at = text.find("ال", 0, end)
    if at > 0 and at + 2 == end:
        cuts.add(at)
    return cuts


class FoldFilter(Filter):
    """Accent-insensitive matching for alphabetic scripts (see :func:`fold_diacritics`)."""

    def __eq__(self, other):
        return type(self) is type(other)

    def __call__(self, tokens):
        for t in tokens:
            t.text = fold_diacritics(t.text)
            yield t


@functools.lru_cache(maxsize=256)
def words_analyzer(locale: str):
    """ICU words, normalized, elision stripped: the strict matching chain for ``locale``."""
    lang = language_of(locale)
    chain = IcuWordTokenizer(locale) | NormalizeFilter(dotless_i=lang in ("tr", "az"))
    if lang in SCRIPT_NORMALIZERS:
        chain = chain | OrthographyFilter(lang)
    if lang in ELISIONS:
        chain = chain | ElisionFilter(ELISIONS[lang])
    if lang in PROCLITICS:
        chain = chain | ProcliticFilter(lang)
    return chain | SplitFilter()


@functools.lru_cache(maxsize=256)
def stems_analyzer(locale: str):
    """``words`` plus stemming (when Whoosh has a stemmer) and diacritic folding."""
    chain = words_analyzer(locale)
    try:
        # No cache of its own (Whoosh's default: an LFU of 50,000 words per filter, so one per
        # locale in every worker, ~12 MB each once full): a query's stems are remembered
        # process-wide in front of it (query._stem_of, stem_of), and the build reads the
        # stemmer directly (_direct_stems).
        chain = chain | StemFilter(lang=language_of(locale), cachesize=None)
    except NoStemmer:
        pass
    return chain | FoldFilter()


@functools.lru_cache(maxsize=1)
def grams_analyzer():
    """Character bigrams over runs of scripts written without spaces (any locale)."""
    return ScriptBigramTokenizer()


def analyzers_for(locale: str) -> dict:
    """The named analyzer chains used by a locale's index."""
    return {
        "words": words_analyzer(locale),
        "stems": stems_analyzer(locale),
        "grams": grams_analyzer(),
    }


@functools.lru_cache(maxsize=65536)
def stem_of(term: str, locale: str) -> str:
    """``term`` (an index word) stemmed and folded as the ``stems`` field holds it."""
    stemmed = [t.text for t in stems_analyzer(locale)(term)]
    return stemmed[0] if len(stemmed) == 1 else term


def stem_prefix(term: str, stem: str) -> str:
    """How every word of ``term``'s stem is assumed to start: ``term`` up to one character
    before the shorter of it and its stem ("passwords" / "password" -> "passwor"). Suffixing
    languages (Latin, Greek, Cyrillic scripts, Hebrew and Arabic endings) vary a word's end;
    a stem much shorter than its word gives a short start, which :func:`same_stem_terms`
    refuses when it covers too many terms."""
    return term[: min(len(term), len(stem)) - 1]


def same_stem_terms(candidates: list[str], term: str, stem: str, locale: str) -> list[str]:
    """Of ``candidates`` (the index terms starting with :func:`stem_prefix`), those that are
    ``term`` or stem to ``stem``: the forms of the query word a title may hold ("password"
    finds "passwords"). Languages without a stemmer keep the word's folded forms only."""
    return [c for c in candidates if c == term or stem_of(c, locale) == stem]


def title_key(text: str, locale: str) -> str:
    """A title reduced to its normalized words, so "same title" is one exact term lookup."""
    return " ".join(t.text for t in words_analyzer(locale)(clean_text(text)))


def index_title_key(text: str, locale: str) -> str:
    """:func:`title_key` by the build's per-word fast path (:func:`index_words`): a word's
    first term is the words chain's (the parts made only at index time come after it)."""
    out: list[str] = []
    last = -1
    for term, pos in index_words(locale).pairs(clean_text(text))[0]:
        if pos != last:
            out.append(term)
            last = pos
    return " ".join(out)


def analyze(text: str, locale: str, chain: str = "words") -> list[dict]:
    """Tokens ``chain`` produces for ``text`` in ``locale``, with positions and offsets."""
    ana = analyzers_for(locale)[chain]
    text = clean_text(text)
    return [
        {"text": t.text, "pos": t.pos, "start": t.startchar, "end": t.endchar}
        for t in ana(text, positions=True, chars=True, mode="index")
    ]


# Build-side fast paths. A locale's build analyzes millions of tokens through generator chains
# whose filters are per-word functions (the same word always gives the same tokens, offsets
# relative to the word): each distinct word goes through the real chain once, and the result
# is reused. The chains stay the definition (queries use them; tests compare the two).
_WORD_CACHE_LIMIT = 500_000
# Longer words are analyzed each time, not kept: the limit above counts entries, and one word
# may be as long as an article (a 2 MB run of letters, split into a million parts).
_WORD_CACHE_MAX_CHARS = 64


class _IndexWords:
    """``(term, position, end char)`` of :func:`words_analyzer` at index time, per word."""

    def __init__(self, locale: str):
        chain = words_analyzer(locale)
        self._tokenizer, self._filters = chain.items[0], chain.items[1:]
        self._cache: dict[str, tuple] = {}
        # The words of one term that ends where the word ends (most words): their term.
        self._single: dict[str, str] = {}
        direct = _direct_word(self._filters)
        if direct is not None:
            self._word = direct

    def _word(self, raw: str) -> tuple:
        t = Token(positions=True, chars=True, removestops=True, mode="index")
        t.text, t.boost, t.stopped, t.pos, t.startchar, t.endchar = raw, 1.0, False, 0, 0, len(raw)
        gen = iter((t,))
        for item in self._filters:
            gen = item(gen)
        return tuple((x.text, x.endchar) for x in gen)

    def _tokens(self, raw: str) -> tuple:
        tokens = self._word(raw)
        if len(raw) <= _WORD_CACHE_MAX_CHARS:
            if len(tokens) == 1 and tokens[0][1] == len(raw):
                self._single[raw] = tokens[0][0]
            else:
                self._cache[raw] = tokens
        return tokens

    def __call__(self, value: str) -> list[tuple[str, int, int]]:
        pairs, ends = self.pairs(value)
        return [(text, pos, end) for (text, pos), end in zip(pairs, ends, strict=True)]

    def pairs(self, value: str) -> tuple[list[tuple[str, int]], list[int]]:
        """``([(term, position), ...], [end char, ...])``: :meth:`__call__`'s tokens, as the
        index records them (the pairs are the analyzed field as is) and their ends apart.

        One pass over ICU's boundaries, each word looked up as it is found: no list of spans
        in between. Text with characters outside the BMP takes the spans (ICU's offsets are
        UTF-16 there).
        """
        cache = self._cache
        if len(cache) + len(self._single) > _WORD_CACHE_LIMIT:
            cache.clear()
            self._single.clear()
        pairs: list[tuple[str, int]] = []
        ends: list[int] = []
        if not value:
            return pairs, ends
        add_pair, add_end = pairs.append, ends.append
        get, tokens_of = cache.get, self._tokens
        if _NON_BMP.search(value):
            for pos, (start, end) in enumerate(self._tokenizer.segments(value)):
                raw = value[start:end]
                term = self._single.get(raw)
                tokens = ((term, end - start),) if term is not None else get(raw)
                if tokens is None:
                    tokens = tokens_of(raw)
                for text, rel in tokens:
                    add_pair((text, pos))
                    add_end(start + rel)
            return pairs, ends
        # The iterator is this thread's; nothing below analyzes other text with it before the
        # loop ends (the filters of _word never use the tokenizer).
        it = self._tokenizer.boundaries(value)
        status = it.getRuleStatus
        prev = it.first()
        pos = 0
        single = self._single.get
        for end in it:
            if status() >= _UBRK_WORD_NONE_LIMIT:
                raw = value[prev:end]
                term = single(raw)
                if term is not None:  # one term, the whole word (most words)
                    add_pair((term, pos))
                    add_end(end)
                else:
                    tokens = get(raw)
                    if tokens is None:
                        tokens = tokens_of(raw)
                    for text, rel in tokens:
                        add_pair((text, pos))
                        add_end(prev + rel)
                pos += 1
            prev = end
        return pairs, ends


def _direct_word(filters) -> Callable[[str], tuple] | None:
    """:meth:`_IndexWords._word` without the generator chain, for the chains
    :func:`words_analyzer` makes of NormalizeFilter, ElisionFilter (optional) and SplitFilter
    (every locale but those with script normalizers or proclitics, which run the chain): the
    same ``(term, end char)`` pairs, made for each distinct word of a locale's build (dev
    corpus: 17,000 to 24,000 a locale). None for any other chain."""
    kinds = [type(f) for f in filters]
    if kinds == [NormalizeFilter, SplitFilter]:
        articles = None
    elif kinds == [NormalizeFilter, ElisionFilter, SplitFilter]:
        articles = filters[1].articles
    else:
        return None
    dotless = filters[0].dotless_i

    def word(raw: str) -> tuple:
        text = normalize_term(raw, dotless)
        if not text:
            return ()  # NormalizeFilter drops it
        if articles is not None:
            head, sep, tail = text.partition("'")
            if sep and tail and head in articles:
                text = tail
        end = len(raw)
        if not _SPLIT.search(text):
            return ((text, end),)
        # SplitFilter's parts: their own ends when the word kept its length, else the word's.
        out = [(text, end)]
        same, offset = end == len(text), 0
        for part in _SPLIT.split(text):
            if part and part != text:
                out.append((part, offset + len(part) if same else end))
            offset += len(part) + 1
        return tuple(out)

    return word


def query_term_of(locale: str) -> Callable[[str], str]:
    """One ICU word through :func:`words_analyzer`'s filters at query time: its term, or ""
    when a filter drops it (what ``words_analyzer(locale)(word, tokenize=False)`` yields
    first). Without the chain's Token and generators (~5 us a word): each filter the chain
    may hold applied as a function; at query time ProcliticFilter and SplitFilter pass a
    token on unchanged (their extra forms are made at index time only). A chain holding any
    other filter runs as it is."""
    chain = words_analyzer(locale)
    steps: list[Callable[[str], str]] = []
    for item in chain.items[1:]:
        kind = type(item)
        if kind is NormalizeFilter:
            # Called as the chain calls it (positional): the same normalize_term cache entries.
            steps.append(lambda text, dotless=item.dotless_i: normalize_term(text, dotless))
        elif kind is OrthographyFilter:
            steps.append(SCRIPT_NORMALIZERS[item.lang])
        elif kind is ElisionFilter:
            steps.append(functools.partial(_elided, articles=item.articles))
        elif kind not in (ProcliticFilter, SplitFilter):
            return functools.partial(_chain_first, chain)
    if len(steps) == 1:
        return steps[0]  # most locales: the normalized word

    def term(raw: str) -> str:
        for step in steps:
            raw = step(raw)
            if not raw:
                return ""  # NormalizeFilter and OrthographyFilter drop an empty token
        return raw

    return term


def _elided(text: str, articles: frozenset[str]) -> str:
    """ElisionFilter on one token's text."""
    head, sep, tail = text.partition("'")
    return tail if sep and tail and head in articles else text


def _chain_first(chain, raw: str) -> str:
    for tok in chain(raw, tokenize=False):
        return tok.text
    return ""


@functools.lru_cache(maxsize=256)
def index_words(locale: str) -> _IndexWords:
    """What ``words_analyzer(locale)(value, positions=True, chars=True, mode="index")``
    yields, as ``(text, pos, endchar)`` tuples: the build's fast path (same tokens)."""
    return _IndexWords(locale)


# Normalized bigrams of each distinct run of a no-space script (runs repeat: "設定").
# Kana and unified ideographs: each character is its own NFKC + case-folded form, and no two
# compose (no combining marks, no Hangul jamo, no compatibility forms), so every bigram of a
# run of them is already normalized (tests/test_build_read_fast.py checks the characters).
_PLAIN_RUN = re.compile("[\u3041-\u3096\u30a1-\u30fa\u30fc\u3400-\u4dbf\u4e00-\u9fff]+")
_RUN_CACHE: dict[str, tuple[str, ...]] = {}


def index_grams(value: str) -> list[tuple[str, int, int]]:
    """What :func:`grams_analyzer` yields at index time, as ``(text, pos, endchar)``."""
    pairs, ends = index_gram_pairs(value)
    return [(text, pos, end) for (text, pos), end in zip(pairs, ends, strict=True)]


def index_gram_pairs(value: str) -> tuple[list[tuple[str, int]], list[int]]:
    """:func:`index_grams` as ``([(term, position), ...], [end char, ...])``, a run at a time."""
    cache = _RUN_CACHE
    if len(cache) > _WORD_CACHE_LIMIT:
        cache.clear()
    pairs: list[tuple[str, int]] = []
    ends: list[int] = []
    pos = 0
    for match in GRAM_RUN.finditer(value):
        run = match.group()
        if len(run) > 1 and _PLAIN_RUN.fullmatch(run):
            grams = list(map("".join, zip(run, run[1:], strict=False)))  # normalized already
        else:
            grams = cache.get(run)
            if grams is None:
                grams = tuple(normalize_term(gram) for _, gram in run_bigrams(run))
                if len(run) <= _WORD_CACHE_MAX_CHARS:
                    cache[run] = grams
        count = len(grams)
        pairs.extend(zip(grams, range(pos, pos + count), strict=True))
        base = match.start()
        if len(run) == 1:
            ends.append(base + 1)
        else:  # the bigram at offset i ends at i + 2
            ends.extend(range(base + 2, base + count + 2))
        pos += count + 1  # gap: a phrase never crosses from one run into the next
    return pairs, ends


class _IndexStems:
    """The stems chain after the words chain, per term (each term through it once)."""

    def __init__(self, locale: str):
        words, stems = words_analyzer(locale), stems_analyzer(locale)
        self._filters = stems.items[len(words.items) :]
        self._cache: dict[str, str] = {}  # term -> its one stem (the usual case)
        self._multi: dict[str, tuple] = {}  # term -> its stems, when not exactly one
        self._direct = _direct_stems(self._filters)
        if self._direct is not None:
            self._stems = self._direct

    def _stems(self, term: str) -> tuple:
        token = Token(mode="index")
        token.text, token.boost, token.stopped = term, 1.0, False
        gen = iter((token,))
        for item in self._filters:
            gen = item(gen)
        return tuple(t.text for t in gen)

    def __call__(self, terms: list[str]) -> list[str]:
        single, multi = self._cache, self._multi
        if len(single) + len(multi) > _WORD_CACHE_LIMIT:
            single.clear()
            multi.clear()
        uncached: dict[str, tuple] = {}  # too long to keep: this call's only
        for term in set(terms).difference(single):
            if term in multi:
                continue
            got = self._stems(term)
            if len(term) > _WORD_CACHE_MAX_CHARS:
                uncached[term] = got
            elif len(got) == 1:
                single[term] = got[0]
            else:
                multi[term] = got
        if not uncached and (not multi or multi.keys().isdisjoint(terms)):
            return list(map(single.__getitem__, terms))
        out: list[str] = []
        for term in terms:
            got = single.get(term)
            if got is not None:
                out.append(got)
            else:
                out.extend(uncached[term] if term in uncached else multi[term])
        return out


def _direct_stems(filters) -> Callable[[str], tuple] | None:
    """:meth:`_IndexStems._stems` without the generator chain, for the chains
    :func:`stems_analyzer` makes (a StemFilter that ignores no word, then FoldFilter; or
    FoldFilter alone): one stem per term, ``fold_diacritics(stemmer(term))``. Each distinct
    term of a locale passes here once, and the chain's Token, generators and Whoosh's own
    LFU cache around the stemmer cost half as much again as the stemming (dev corpus fi-FI:
    0.34 s against 0.24 s). None for any other chain: it then runs as it is."""
    kinds = [type(f) for f in filters]
    if kinds == [FoldFilter]:
        return lambda term: (fold_diacritics(term),)
    if kinds != [StemFilter, FoldFilter] or filters[0].ignore:
        return None
    # The stemmer under Whoosh's cache (a pure function: the cache changes no stem).
    stem = getattr(filters[0]._stem, "__wrapped__", filters[0]._stem)
    return lambda term: (fold_diacritics(stem(term)),)


@functools.lru_cache(maxsize=256)
def index_stems(locale: str) -> _IndexStems:
    """The build's stems of ``words`` terms (the rest of the stems chain, per distinct term)."""
    return _IndexStems(locale)


def clear_index_caches() -> None:
    """Drop the build fast paths' per-word caches (a build's end: a worker process builds
    locale after locale, and a finished locale's words are of no use to the next)."""
    index_words.cache_clear()
    index_stems.cache_clear()
    _RUN_CACHE.clear()
