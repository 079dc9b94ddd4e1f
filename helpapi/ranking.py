"""Every tunable ranking constant, in one place.

The search code (:mod:`helpapi.query`, :mod:`helpapi.engine`, :mod:`helpapi.search`) reads
these as ``ranking.NAME`` when a query runs, never copies them at import time, so a test or a
tuning script can ``monkeypatch.setattr(ranking, "TITLE_BOOST", 1.0)`` and the next search
uses the new value. ``tests/test_ranking_golden.py`` fails when any of them is set to a neutral
value (see the table in ``bench/RESULTS.md``).

Change them only with ``bench/quality.py`` figures before and after. The boosts were measured
with it (see ``bench/RESULTS.md``).
"""

from __future__ import annotations

# --- Strict pass: optional clauses added to the score of documents that match every unit ---
TITLE_BOOST = 3.0  # all query words in the title (order-free)
# The query is the whole title: outweighs nearness re-ranking and a longer title whose body
# repeats the words (12 did not at BM25 scores of 100-200; queries-scale tuning half: title
# 0.9986 -> 1.0000 at 48, with 24 0.9997; no other set moved, see bench/RESULTS.md).
# With EXACT_BOOST_PER_WORD a long title's words standing in another article's body score up to
# ~300 more: at 48 a whole title typed lost to that article (queries-scale tuning half, title,
# with PHRASE_MAX_EXTRA 3: 48 -> 0.9997, 96 and 192 -> 0.9998, 384 -> 1.0000; dev tuning half
# and queries-scale body unchanged).
SAME_TITLE_BOOST = 384.0
# The title boost of a word also counts the other title words of its stem ("password" matches a
# title's "passwords"): a title is about a word whatever its inflection. Those words start
# with helpapi.analysis.stem_prefix, at least TITLE_STEM_MIN_PREFIX characters long and
# shared by at most TITLE_STEM_SCAN title terms (each is stemmed: bounds the cost).
TITLE_STEMS = True
# ... in queries of at most this many words. Chosen on the tuning half (bench/quality.py): in
# 2-3 word queries the stem forms cost Finnish and German keyword/prefix queries a little (kw
# 0.924 -> 0.923, prefix 0.932 -> 0.930) and helped none.
TITLE_STEM_MAX_WORDS = 1
TITLE_STEM_MIN_PREFIX = 3
TITLE_STEM_SCAN = 64
# Queries with no-space runs: all the query's units (words and runs) in the title, each
# scored at TITLE_BOOST, on top of the words' own clause and each run's RUN_TITLE_BOOST.
TITLE_ALL_RUNS = True
# A no-space-script fragment found in a title. Lower than TITLE_BOOST: a fragment is often a
# piece of body text that happens to occur in some title too.
RUN_TITLE_BOOST = 1.5
# ... also in a title that holds only some of the query's units (helpapi.engine.run_title_boosts).
# Off: a run scores in a title only when the title holds every unit (TITLE_ALL_RUNS' clause, at
# TITLE_BOOST + RUN_TITLE_BOOST) or when it is the query's only unit, as a word scores in a title
# only when the title holds every word. A body fragment sharing a piece with another article's
# title ("for Macのインストール方法" and "Office のインストール方法") is not about that title.
# Tuning half (bench/quality.py, with EXACT_BOOST_PER_WORD 2): body 0.9908 -> 0.9919 (ja-JP
# 0.981 -> 0.985, zh-CN 0.996 -> 1.000); kw, title, prefix, typo unchanged.
RUN_TITLE_PARTIAL = False

# A word being typed (prefix=true) counts in TITLE_BOOST's clause by its title completions.
TITLE_PREFIX = True
# ... when at most this many title words start with it (bounds the cost of a short prefix).
TITLE_PREFIX_SCAN = 512
# A query being typed that is the beginning of a title (words only; the last one cut). Chosen
# on the tuning half (bench/quality.py, prefix): 12 -> 0.974, 48 -> 0.984, 96 -> 0.986; the
# body scores of the candidates differ by up to ~100, which drowned a boost of 12.
TITLE_START_BOOST = 96.0
# The part of TITLE_START_BOOST that scales with the share of the title typed (0: none, 1: all):
# of the titles that begin alike, the one the typing is nearest the end of ranks first (tuning
# half, prefix, with the boost at 96: 0.0 -> 0.986, 0.5 -> 0.988, 1.0 -> 0.989).
TITLE_START_TYPED = 1.0

# --- Proximity re-ranking of the first RERANK_DEPTH candidates ---
RERANK_DEPTH = 100
# Words near each other: any order, within (number of words + PROXIMITY_SLOP_EXTRA). This
# clause scores 1.0x: Whoosh's SpanNear2 matcher ignores a boost, the ranking was tuned that
# way, and helpapi.engine reproduces it.
PROXIMITY_SLOP_EXTRA = 2
# The words as typed, in order, each within EXACT_SLOP of the previous one.
EXACT_BOOST = 1.5
EXACT_SLOP = 1
# ... plus this much for each word beyond two (helpapi.engine.phrase_boost): a fragment copied
# from an article (the body queries, 4-8 words) found whole and in order is rarer by chance the
# longer it is, so it outweighs another article whose title holds part of it. Not while a word is
# being typed. Tuning half, body: 0 -> 0.9880, 1 -> 0.9904, 2 -> 0.9908 (fi-FI 0.993 -> 1.000,
# fr-FR 0.985 -> 0.992, sv-SE 0.989 -> 0.997), 4 the same, 8 -> 0.9912 but title fr-FR
# 1.000 -> 0.997; kw, prefix, typo, free unchanged at 2. queries-scale tuning half, body:
# 0.9888 -> 0.9927 at 4.
EXACT_BOOST_PER_WORD = 2.0
# ... for at most this many words (or runs, PROXIMITY_BOOST_PER_RUN) beyond two: the BM25 sum the
# boost multiplies grows with the length already, and an unbounded boost let a 9-word title's
# words in another body outscore the title typed whole. queries-scale tuning half: body 0.9927 at
# 3 and 4 (the same as unbounded), 0.9926 at 2; title 0.9997 at any of them (see SAME_TITLE_BOOST).
PHRASE_MAX_EXTRA = 3
# ... and this much more for each such word (again up to PHRASE_MAX_EXTRA) when the words
# stand as typed past the document's titles (helpapi.engine.body_phrase_boost): a copied
# fragment's source holds it in its body; another article's title holding it, even in order,
# is not its source. 0: off. Tuning half (bench/quality.py, with TITLE_COVER_BOOST 128):
# dev body 0.9932 -> 1: 0.9937, 1.5: 0.9937, 2: 0.9937, 4: 0.9941, 8: 0.9945 (but title
# 1.000 -> 0.9987); queries-scale body 0.9941 -> 1: 0.9945, 1.5: 0.9949, 2: 0.9949, 4:
# 0.9951; xling from 3 on loses (dev 1.000 -> 0.9996 at 3; queries-scale 0.9992 -> 0.9972 at
# 4: an English title's words in another article's English body); kw, prefix, typo, free,
# fallback unchanged at 1.5. At 2 a whole 12-word title typed lost to an article quoting it
# (tests/test_body_quality.py, SAME_TITLE_BOOST's case). Kept apart from the proximity
# clauses' scores, which are Whoosh's (helpapi.engine.proximity's ``in_body``).
BODY_PHRASE_BOOST = 1.5
# ... and for no-space runs (helpapi.engine.runs_in_body): this much for each bigram beyond two
# (up to PHRASE_MAX_EXTRA) of a query's runs when they stand as typed past the document's
# titles (each run whole, each right after the previous one), times the best such document's
# score of those bigrams: the same extra for every such document. Only for a query of one
# run, or one holding punctuation (copied text); not for a query that is a whole title.
# 0: off. Tuning half (bench/quality.py), body ja-JP / zh-TW, dev and queries-scale:
# 0: .985 / .986, .960 / .976; 1: .989 / .986, .970 / .976; 2: .989 / .989, .974 / .976;
# 3: .989 / .992, .974 / .981 (8 the same); every other set unchanged at 4 decimals (2 to 4).
# Without the punctuation condition CJK keyword queries lost (tuning half kw ja/zh 0.8382 ->
# 0.8371: "フォルダー または ファイル" stands so in other bodies); without the whole-title
# exception titles typed whole lost to articles quoting them (queries-scale title R@1 -> 0.999).
RUN_BODY_BOOST = 3.0
# ... also for a query of runs typed apart by spaces only ("ビジネス サポート", "365 保留原則")
# when no candidate's title holds every unit: keywords are most often a title's words, and
# other bodies may hold a title's keywords in the order typed ("フォルダー または ファイル"
# above the article whose title holds them), but a query no title holds whole is not a title's
# keywords, and a body holding its runs as typed is the evidence left. False: only one run or
# punctuation (copied text) gets the extra. Tuning half (bench/quality.py): queries-scale body
# ja-JP 0.974 -> 0.977, zh-TW 0.981 -> 0.984; every dev set and queries-scale title, xling
# unchanged. Without the title condition (the same extra at RUN_BODY_BOOST x 1, 0.3, 0.2, 0.1)
# kw ja-JP 0.903 -> 0.895 ("フォルダー または ファイル") at every factor from 0.2 up.
RUN_BODY_SPACED = True
# ... with a run typed twice checked at both places ("グループ > グループ", a menu path copied
# from a body), as the words' in-order clause checks a repeated word (helpapi.query.typed_order):
# a body holding it once is not where the path was copied from. False: each run once. Tuning
# half (bench/quality.py): dev body ja-JP 0.989 -> 0.996; every other dev set and queries-scale
# title, body and xling unchanged.
RUN_BODY_REPEATS = True
# ... and for a query mixing words and no-space runs ("AD) のグループ", helpapi.engine.
# fragment_in_body): this much for each word beyond two (up to PHRASE_MAX_EXTRA) when the
# query's words (ICU's, the text field's, one position space for Latin words and runs) stand
# as typed past a document's titles, times the best such document's score of those words.
# 0: off. Tuning half (bench/quality.py), with FRAGMENT_RUNS_GATE, queries-scale body ja-JP /
# zh-TW: 0: .977 / .988; 1: .981 / .988; 2: .984 / .988; 3, 4, 8: .984 / .991; dev body
# zh-TW .996 at each; every other set unchanged at 4 decimals.
FRAGMENT_BODY_BOOST = 3.0
# ... and for such a query RUN_BODY_BOOST's extra only in the documents where the whole
# fragment stands (its runs as typed, beside a Latin word elsewhere, are not the fragment).
# False: every document holding the runs. Tuning half, FRAGMENT_BODY_BOOST 3: queries-scale
# body ja-JP .981 -> .984 ("AD) のグループ"); without the title condition of RUN_BODY_SPACED
# (kept for runs_in_body) zh-TW .988 -> .991 ("PST 檔案匯入至"); every other set unchanged.
FRAGMENT_RUNS_GATE = True
# Several no-space runs (split by punctuation or Latin words) standing close together.
PROXIMITY_BOOST = 1.5
RUN_PROXIMITY_SLOP = 3
# ... plus this much for each run beyond two (helpapi.engine.phrase_boost; same reason as
# EXACT_BOOST_PER_WORD). Tuning half, body zh-TW 0.981 -> 0.986 at 0.5, 1 and 2; kw ja-JP
# 0.8785 -> 0.8776 at 1 and 2, unchanged at 0.5.
PROXIMITY_BOOST_PER_RUN = 0.5
# The re-ranking checks positions of the best candidates first and stops after this many
# positions (a flood of frequent words in long documents); the rest keep their score. The
# ordinary queries read at most 3,233 (../shared/queries, every set), the floods of
# bench/hostile.py up to 13,603.
PROXIMITY_MAX_POSITIONS = 4096
# ... or after this many look-ups of a term in a document's postings (rarest term first: a
# document lacking one is done with). Several no-space runs make one clause of every bigram of
# every run, up to 4 x 63 terms, each looked up in each of the RERANK_DEPTH documents: 25,200
# look-ups (10-12 ms CPU) for 256 characters of frequent bigrams (bench/hostile.py's chain)
# before this bound and the rarest-first order, 100 after. The ordinary queries make at most
# 710 (../shared/queries, every set: ja-JP keywords). A bound, not a ranking knob.
PROXIMITY_MAX_LOOKUPS = 2048

# A title holding every unit of the query scores up to this much more, by the share of the
# title the query covers (helpapi.engine.title_cover): of the many titles holding "SharePoint
# OneDrive", the one those words make up most of first (the fewer other words a title has,
# the less likely it holds the query's words by chance). Added in the re-ranking, after
# BM25F, whose title length counts the English title too. 0: off. Chosen on the tuning half
# (bench/quality.py), share to the power 1: kw 0.9317 -> 8: 0.9350, 32: 0.9353, 64: 0.9376,
# 128: 0.9390; dev body 0.9932 up to 64, 0.9922 at 128; queries-scale body 0.9942 -> 0.9937
# at 64 (short fragments of common words that most of a long title holds).
TITLE_COVER_BOOST = 128.0
# ... or, when more, this many times the best strict score of a title holder per query unit
# (helpapi.search._rerank): the score's scale. A no-space run is scored by each of its bigrams
# in several fields, so a Japanese or Chinese keyword query's BM25 scores run 3-5 times a
# Latin one's (ja-JP 150-270 for 2-3 runs, de-DE 50-90), and a fixed boost let a title the
# query covers less of win on the body's score (tuning half, kw: 5 of the 61 misses, where
# no title above is more specific than the expected one). Not for no-space runs with marks
# between them (copied text, helpapi.engine.punctuated: a body fragment, not keywords). 0: off.
# Larger than the fixed boost for most keyword queries in every script (Latin ones too: 17-45
# a unit), so TITLE_COVER_BOOST is a floor. A holder of the query's whole-title key has its
# SAME_TITLE_BOOST taken off first (not the words' scale; counted in, every other holder's
# cover grew ~13x on whole-title queries; dev quality tables the same either way).
# Tuning half (bench/quality.py), kw 0.9422 -> 4: 0.9430, 6: 0.9444, 8: 0.9452 (ja-JP 0.903
# -> 0.926), 12: 0.9453; every other dev set and queries-scale title, body, xling unchanged
# at 6, 8 and 12. Scaled by the best score itself (not per unit, punctuated too) at 3: kw
# 0.9459 but queries-scale body id-ID and ja-JP one query each lost (a 4-word fragment, a
# menu path, most of another title) and xling hu-HU, id-ID, dev zh-TW (a whole title's
# SAME_TITLE_BOOST in the best score).
TITLE_COVER_RELATIVE = 8.0
# A unit typed more than once counts in the share that many times, where the title holds it
# that many times: the share is of the title's letters, every place of a word counted
# (helpapi.engine.title_cover; "Windows Outlook Outlook" covers both of a title's "Outlook").
# Off: a repeated unit counts once. Tuning half (bench/quality.py): kw 0.9380 -> 0.9388 alone
# (zh-CN 0.855 -> 0.863), 0.9408 -> 0.9422 with TITLE_HOLDER_IN_ORDER off; every other set
# unchanged. With it a whole title repeating a word ("a" three times) is covered whole again,
# which TITLE_HOLDER_IN_ORDER's exception needs.
TITLE_COVER_REPEATS = True
# Whether a document whose title holds every unit (TITLE_COVER_BOOST's), but is not made of
# them only, also scores the in-order proximity clauses (EXACT_BOOST, PROXIMITY_BOOST). Off: the
# text field starts with the titles, so those clauses found the words as typed in that title
# whenever it lists them in the order typed: the title's wording, not the user's (a keyword
# query's order is the user's). The words standing near each other in any order still score,
# and a title the query makes up whole keeps them (typed as it stands). Tuning half
# (bench/quality.py): kw 0.9380 -> 0.9408 alone (ja-JP 0.885 -> 0.897, zh-TW 0.747 -> 0.764,
# zh-CN 0.855 -> 0.851), dev body 0.9937 -> 0.9941 (uk-UA 0.984 -> 0.988); queries-scale
# title 1.0000 and body 0.9949 unchanged (id-ID 0.987 -> 0.990, sv-SE 1.000 -> 0.997). Dropping
# every proximity clause of those titles instead (kw 0.9401) lost a title typed whole to an
# article quoting it (queries-scale title 1.0000 -> 0.9995) and a two-word query's title to a
# body holding the words (tests/test_ranking_golden2.py).
TITLE_HOLDER_IN_ORDER = False
# The share raised to this power: a query covering a small share of a long title (a body
# fragment of common words) gains little, one covering most of a short title nearly all.
# Tuning half: (boost, power) (64, 2): kw 0.9365, scale body 0.9941; (128, 2): 0.9381,
# 0.9937; (128, 3): 0.9380, 0.9941; (256, 3): 0.9402, 0.9934 (dev body 0.9932 for all);
# title, xling, fallback, prefix, typo, free unchanged at every value tried.
TITLE_COVER_POWER = 3.0
# The key fields whose titles count: the localized title's and the front matter's other
# title's (tuning half, kw at 64, power 1: 0.9376; the localized one alone 0.9355; with the
# English title's too 0.9376). Read once per index (helpapi.engine.title_keys).
TITLE_COVER_FIELDS = ("title_key", "alias_title_key")

# --- Phrases (quoted words, no-space runs) in the strict pass ---
# The phrase checks of one strict pass stop after this many positions (a quoted phrase of very
# frequent words in long documents); the documents left are taken not to hold the phrase.
# The ordinary queries read at most 3,337 (../shared/queries, every set: ja-JP keyword runs),
# the quoted floods of bench/hostile.py up to 17,631.
PHRASE_MAX_POSITIONS = 8192

# --- Prefixes (as-you-type) ---
# How many index terms a word being typed may expand to: bounds the cost of a prefix query.
MAX_PREFIX_EXPANSION = 32
# A prefix is checked exactly, against every term it starts with, in the documents the other
# units allow when they are at most this many; beyond that, or alone, it stands for its
# MAX_PREFIX_EXPANSION most frequent terms (as in Whoosh).
PREFIX_EXACT_DOCS = 2000

# --- Bounds on the work one query can ask for (hostile queries: bench/hostile.py) ---
# A repeated word adds nothing, so repeats collapse; the longest real queries have under 20
# units and runs of no-space text under 45 characters.
MAX_UNITS = 16
MAX_RUN_CHARS = 64
# A lone character of a no-space script stands for every pair it starts (a prefix): costly,
# and close to meaningless several times over. Real queries hold at most 2 (../shared/queries).
MAX_LONE_CHARS = 3

# --- Spelling correction (strict pass again, with unknown words corrected) ---
# More unknown words than this is not a typo but text the index does not hold: no correction.
MAX_CORRECTIONS = 3
# Words shorter than this are never corrected: too many real words lie one edit away.
MIN_CORRECTABLE = 4
# Nor longer than this: no real word is, and the work grows with the length.
MAX_CORRECTED_CHARS = 40
# Edits allowed: CORRECTION_EDITS below CORRECTION_LONG_WORD characters, else
# CORRECTION_EDITS_LONG. At most the ``text`` fuzzy table's k (helpapi.memindex.FUZZY), which
# is part of the postings file's format.
CORRECTION_EDITS = 1
CORRECTION_EDITS_LONG = 2
CORRECTION_LONG_WORD = 8

# --- Relaxed pass (only when strict and corrected strict find nothing) ---
# Coordination scale of the relaxed Ors (Whoosh's CoordMatcher): favours documents matching
# more of the units (and more pieces of a long no-space run).
RELAXED_SCALE = 0.9
# Only this many units are scored, the rarest ones.
RELAXED_MAX_UNITS = 8
# ... and only as many (rarest first) as read at most this many whole posting lists' worth per
# document of the locale (helpapi.engine.Frequencies.cost: a word counts its stem and itself, a
# prefix its completions): a flood of stop words (bench/hostile.py) asks for several passes
# over every document. A unit that does not fit is left out; the next one, rarest first, may
# still fit. The ordinary queries that reach the relaxed pass keep at most 5.95 on the dev
# corpus (../shared/queries, every set), between 6 and 8 on the bundled one (titles, whole,
# half typed and mistyped); the quoted floods of bench/hostile.py ask for up to 23.
RELAXED_MAX_VOLUME = 8.0
# The phrase checks of a no-space run's pieces (pairs of neighbouring bigrams) read at most this
# many entries (postings and positions of their bigrams) per document in one relaxed pass, the
# cheapest pieces first; the others are taken not to match. Frequencies.cost counts a run's
# reads as this share of RELAXED_MAX_VOLUME: they are read in C (tables, slices, sets), a
# word's postings one by one. Titles typed with a stray word reach the relaxed pass with runs
# reading up to 61 per document on the bundled corpus (ja-JP), 71 on the dev corpus (those few
# now skip their costliest pieces); the 256-character runs of frequent bigrams of
# bench/hostile.py ask for hundreds (126 ms CPU before this bound, on the dev corpus).
RELAXED_MAX_RUN_READS = 64
# An unknown word of at least this many characters (stemmed) may match with
# RELAXED_TYPO_EDITS typos (at most the ``stems`` fuzzy table's k, helpapi.memindex.FUZZY).
RELAXED_TYPO_MIN_CHARS = 5
RELAXED_TYPO_EDITS = 1

# --- A fragment standing verbatim (helpapi.verbatim) ---
# Of the documents whose body holds the query's words or runs as typed (the past-the-titles
# extras: BODY_PHRASE_BOOST, RUN_BODY_BOOST, FRAGMENT_BODY_BOOST), only those whose body text
# also holds the marks typed between them keep that extra, when at least one does: words in
# a row across a quote, a dash or a sentence's end the fragment lacks are not its source.
VERBATIM_GATE = True
# ... and of those, the ones holding it with its spaces as typed, when some do (see
# helpapi.verbatim.holders). False: spaces are not compared.
VERBATIM_SPACES = True
# ... and of those, when the fragment holds a bracket, the ones whose page (the stored HTML's
# text, helpapi.page_text) holds it with its brackets and spaces as typed, when some but not
# all do: the body text drops every bracket, the page keeps those that are not a link's.
VERBATIM_LITERAL = True
# ... reading at most this many bytes of bodies a query (best candidates first; those left
# keep their extra). A bound, not a ranking knob: the bodies average under 1 KB, the
# hostile articles (bench/hostile_articles.py) hold up to 2 MB.
VERBATIM_MAX_BYTES = 1 << 18
# ... and at most this many (weighted: helpapi.page_text's costs, in the same units) of their
# pages for VERBATIM_LITERAL, best candidates first (those left are taken to hold it). A bound:
# the dev corpus's pages cost 43-63 K a page (median), 90-140 K at the 90th percentile.
VERBATIM_PAGE_BYTES = 1 << 20
