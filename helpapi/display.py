"""What a search hit shows, stored compactly beside ``postings.bin``: ``display.bin``.

Whoosh's ``stored_fields`` unpickles every stored field of a hit (html and markdown included)
from a zlib block, for the four a hit needs. The build writes those four per document, in
document-number order, to one UTF-8 blob with a byte-offset table; serving maps the file
read-only (shared page cache between workers) and decodes only the hit's slices:

* ``slug``, ``assetid``, ``title`` (the display title);
* ``body``: the text snippets are cut from, whitespace already collapsed to single spaces;
* ``words``: ``body`` case-folded the way ``re.IGNORECASE`` compares characters, one
  character for one (:func:`fold`), each non-word character (``\\W`` of ``body``) a space
  (:func:`words`): :mod:`helpapi.snippets` finds the query's words with ``str.find`` instead
  of compiling a regular expression per query, and a word start as a space and the word:
  no occurrence inside another word is found, no character before one is looked at;
* ``folded``: ``body`` as :func:`fold` leaves it, marks and all (:mod:`helpapi.verbatim`
  compares a copied fragment's marks with it, as bytes).

Like ``postings.bin`` it is a required, versioned part of every generation: a missing file,
or one of another :data:`VERSION`, is never served (:func:`check`, :meth:`Display.open`), and
a build never switches to such a generation. Article fetch by slug or assetid reads Whoosh.
"""

from __future__ import annotations

import json
import os
import re
import struct
from array import array
from pathlib import Path

from .memindex import file_size
from .memindex import map_headed_file

FILENAME = "display.bin"
# 2: "words" (the fold with non-word characters as spaces) before "folded".
VERSION = 2
FIELDS = ("slug", "assetid", "title", "body", "words", "folded")  # (Display.hit: the first five)
_MAGIC = b"HADISP01"
# What fixes a missing or outdated display file (shown by /readyz and build errors).
REBUILD = "rebuild the index: helpapi index build"


def _equivalences() -> dict[int, int]:
    """Characters ``re.IGNORECASE`` treats as equal beyond their simple lowercase (i/ı, s/ſ,
    σ/ς, µ/μ, ...), each mapped to one representative of its class."""
    try:
        from re._casefix import _EXTRA_CASES as extra  # Python 3.11+
    except ImportError:  # pragma: no cover - older layouts
        from sre_compile import _ignorecase_fixes as extra
    out = {}
    for lo, others in extra.items():
        group = (lo, *others)
        rep = min(group)
        for c in group:
            if c != rep:
                out[c] = rep
    return out


_FOLD = _equivalences()
_SPECIAL = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_FOLD)) + "]")


def fold(text: str) -> str:
    """``text`` with each character replaced by what ``re.IGNORECASE`` compares it as: its
    simple lowercase, then one representative of its equivalence class. Same length as
    ``text``, so an index into one is an index into the other."""
    low = text.lower()
    if len(low) != len(text):
        # A full lowercase mapping of several characters: re uses the simple one. İ (U+0130,
        # to "i̇") is the only such character, and its simple lowercase is "i": replaced
        # first, the C lowercase serves (one İ sent a whole page through a Python loop,
        # ~10x the cost, the stop 21 review); the loop stays for any other.
        low = text.replace("\u0130", "i").lower()
        if len(low) != len(text):
            import _sre

            low = "".join(chr(_sre.unicode_tolower(ord(c))) for c in text)
    if _SPECIAL.search(low):
        low = low.translate(_FOLD)
    return low


# What re's \w is not, but the space: "\w" is str.isalnum() or "_", as helpapi.snippets reads it.
_NONWORD = re.compile(r"[^\w ]")


def words(text: str) -> str:
    """:func:`fold` of ``text`` with each character that is no word character in ``text``
    (``\\W``) a space. Same length as ``text``: a word of the query (word characters only)
    found after a space or at 0 starts a word of ``text``, and the next space ends it."""
    # Folded after the spaces are put in: fold maps characters one for one (only final
    # sigma's lowercase reads its neighbours, and σ/ς fold to one character), so this is
    # fold(text) with spaces where text has \W; text's, not the fold's (iota folds to
    # U+0345, no word character).
    return fold(_NONWORD.sub(" ", text))


class DamagedDisplay(ValueError):
    """``display.bin`` is missing or not a sound display file of this :data:`VERSION`."""


def entry(doc: dict) -> tuple[str, str, str, str, str, str]:
    """The display fields of one Whoosh document (as :func:`helpapi.schema.document_for`)."""
    body = " ".join((doc.get("body") or "").split())
    title = doc.get("display_title") or ""
    return (doc["slug"], doc.get("assetid") or "", title, body, words(body), fold(body))


def write(path: Path, entries: list[tuple]) -> None:
    """Write ``entries`` (from :func:`entry`, in document-number order) to ``path``."""
    blob = bytearray()
    offsets = array("I", [0])
    for row in entries:
        for value in row:
            blob += value.encode("utf-8")
            offsets.append(len(blob))
    head = json.dumps(
        {"version": VERSION, "docs": len(entries), "fields": list(FIELDS)}, sort_keys=True
    ).encode()
    with open(path, "wb") as fh:
        fh.write(_MAGIC + struct.pack("<I", len(head)) + head)
        fh.write(b"\0" * ((-(len(_MAGIC) + 4 + len(head))) % 8))
        fh.write(offsets.tobytes())
        fh.write(blob)


class Display:
    """The mapped ``display.bin`` of one locale's index; :meth:`hit` reads one document."""

    def __init__(self, path: Path):
        self.path = path
        # The layout and its checks are postings.bin's (one reader for both).
        self._mm, self._fd, size, header, base = map_headed_file(
            path, _MAGIC, DamagedDisplay, "display"
        )
        self._size = size
        try:
            if not isinstance(header, dict) or header.get("version") != VERSION:
                version = header.get("version") if isinstance(header, dict) else None
                raise DamagedDisplay(
                    f"{path}: version {version!r}, this helpapi reads version {VERSION}; " + REBUILD
                )
            docs = header.get("docs")
            if not isinstance(docs, int) or docs < 0 or header.get("fields") != list(FIELDS):
                raise DamagedDisplay(f"{path}: malformed header")
            count = docs * len(FIELDS) + 1
            blob = base + 4 * count
            # Checked before any view is read: a page past the end would SIGBUS the worker.
            if blob > size:
                raise DamagedDisplay(f"{path}: offset table ends past the end of the file")
            buf = memoryview(self._mm)
            self._offsets = buf[base:blob].cast("I")
            self._blob = buf[blob:]
            if self._offsets[0] != 0 or self._offsets[-1] != len(self._blob):
                raise DamagedDisplay(f"{path}: offsets do not match the file's size")
            self.doc_count = docs
        except BaseException:
            self.close()
            raise

    @classmethod
    def open(cls, index_path: Path) -> Display:
        """The display file of the index in ``index_path`` (:class:`DamagedDisplay` when it
        is missing, of another version, or cut)."""
        path = Path(index_path) / FILENAME
        if not path.exists():
            raise DamagedDisplay(f"{path}: missing; {REBUILD}")
        return cls(path)

    def intact(self) -> bool:
        """True while the mapped file still has the size it had when opened (one system call;
        see :meth:`helpapi.memindex.MemIndex.intact`)."""
        try:
            return self._fd is not None and file_size(self._fd) >= self._size
        except OSError:
            return False

    def hit(self, docnum: int) -> tuple[str, str, str, str, str]:
        """``(slug, assetid, title, body, words)`` of document ``docnum`` (:func:`words`)."""
        i = docnum * len(FIELDS)
        a, b, c, d, e, f = self._offsets[i : i + 6].tolist()
        blob = self._blob
        body, spaced = str(blob[d:e], "utf-8"), str(blob[e:f], "utf-8")
        if len(spaced) != len(body):
            # Never from a build (one character for one): a damaged file would put the
            # snippet's marks at the wrong places. Made again from the body instead.
            spaced = words(body)
        return (
            str(blob[a:b], "utf-8"),
            str(blob[b:c], "utf-8"),
            str(blob[c:d], "utf-8"),
            body,
            spaced,
        )

    def folded_bytes(self, docnum: int) -> memoryview:
        """The UTF-8 bytes of document ``docnum``'s ``folded`` body (a view of the mapping,
        nothing decoded: helpapi.verbatim compares bytes)."""
        i = docnum * len(FIELDS) + 5
        a, b = self._offsets[i : i + 2].tolist()
        return self._blob[a:b]

    def close(self) -> None:
        """Drop the views; the mapping goes when the last one in use is gone."""
        self._offsets = self._blob = self._mm = None
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)
            self._fd = None


def check(index_path: Path) -> str | None:
    """None when the index in ``index_path`` has a servable display file, else why not."""
    try:
        Display.open(index_path).close()
    except (OSError, DamagedDisplay) as exc:
        return str(exc).replace(str(Path(index_path)) + os.sep, "")
    return None
