"""Writing articles into the corpus folder: the core of the ingestion API (no Flask here).

The corpus folder stays the one source of truth: an API write is a file that ``helpapi index
build`` reads like any other. Every write is atomic (a hidden temporary file in the target
folder, fsync, rename), so a reader or a build never sees half a file, and a slug has one file:
writing ``guide.md`` removes ``guide.html`` and ``guide.htm``.

Everything is validated before anything is written (see :func:`validate_operation`); a batch
is validated whole first, so a bad operation leaves the corpus untouched.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import re
import secrets
from pathlib import Path

import yaml

from .corpus import is_locale_folder
from .locales import BadLocale
from .locales import normalize_tag

# The file types an article can have; the first is what Markdown writes use.
EXTENSIONS = (".md", ".html", ".htm")
MAX_SLUG_LENGTH = 200
# A batch of the ingestion API: at most this many operations, in a body of at most this size.
MAX_BATCH_OPERATIONS = 1000
MAX_BATCH_BYTES = 10 * 1024 * 1024
# A slug segment: letters of any script, digits, "-", "_", "." (not leading: no hidden files).
_SEGMENT = re.compile(r"^[^\W_][\w.-]*$")
_FM_KEYS = {"title", "markdown", "html", "front_matter"}
MAX_FRONT_MATTER_KEYS = 64
MAX_FRONT_MATTER_VALUE = 4096


class InvalidArticle(ValueError):
    """An operation that cannot be written; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class CorpusReadOnly(OSError):
    """The corpus folder cannot be written (read-only, full, no permission)."""


@dataclasses.dataclass
class Operation:
    """One validated write: ``put`` (``content`` is the file's text) or ``delete``."""

    op: str
    locale: str
    slug: str
    extension: str = ".md"
    content: str = ""


def check_locale(locale: str) -> str:
    """The locale folder name: a well-formed BCP 47 tag in canonical case (``de-DE``)."""
    try:
        canonical = normalize_tag(locale)
    except BadLocale:
        canonical = None
    # The folder rule of the indexer too: a 2-3 letter language, then subtags (no "deutsch").
    if canonical is None or not is_locale_folder(canonical):
        raise InvalidArticle("locale", f"{locale[:40]!r} is not a BCP 47 tag like de-DE")
    if canonical != locale.strip():
        raise InvalidArticle("locale", f"write it as {canonical!r}")
    return canonical


def check_slug(slug: str) -> str:
    """A relative path of safe segments, without extension. Raises :class:`InvalidArticle`."""
    if not slug or len(slug) > MAX_SLUG_LENGTH:
        raise InvalidArticle("slug", f"must be 1-{MAX_SLUG_LENGTH} characters")
    if "\x00" in slug or "\\" in slug:
        raise InvalidArticle("slug", "must not contain NUL or backslash characters")
    if slug.startswith("/") or os.path.isabs(slug):
        raise InvalidArticle("slug", "must be a relative path")
    for segment in slug.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidArticle("slug", "must not have empty, '.' or '..' segments")
        if not _SEGMENT.match(segment):
            raise InvalidArticle(
                "slug", f"segment {segment[:40]!r}: letters, digits, '-', '_', '.' only"
            )
    for ext in EXTENSIONS:
        if slug.lower().endswith(ext):
            return slug[: -len(ext)]
    return slug


def _scalar(value) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def check_front_matter(front_matter) -> dict:
    """A flat mapping of scalars (or lists of scalars): what the parser reads as text."""
    if front_matter is None:
        return {}
    if not isinstance(front_matter, dict):
        raise InvalidArticle("front_matter", "must be an object")
    if len(front_matter) > MAX_FRONT_MATTER_KEYS:
        raise InvalidArticle("front_matter", f"at most {MAX_FRONT_MATTER_KEYS} keys")
    for key, value in front_matter.items():
        values = value if isinstance(value, list) else [value]
        if not all(_scalar(v) for v in values):
            raise InvalidArticle(f"front_matter.{key}", "must be a scalar or a list of scalars")
        if any(isinstance(v, str) and len(v) > MAX_FRONT_MATTER_VALUE for v in values):
            raise InvalidArticle(f"front_matter.{key}", f"at most {MAX_FRONT_MATTER_VALUE} chars")
    return front_matter


def _document(title: str | None, front_matter: dict, body: str, html: bool) -> str:
    meta = dict(front_matter)
    if title is not None:
        meta["title"] = title
    if not meta:
        return body
    head = yaml.safe_dump(meta, allow_unicode=True, sort_keys=True, default_flow_style=False)
    if html:
        # An HTML export keeps its own <title>; the front matter block is read the same way.
        return f"---\n{head}---\n{body}"
    return f"---\n{head}---\n\n{body}"


def operation_from_json(locale: str, slug: str, body) -> Operation:
    """A ``put`` from the JSON form ``{"title", "markdown" | "html", "front_matter"}``."""
    if not isinstance(body, dict):
        raise InvalidArticle("body", "must be a JSON object")
    unknown = sorted(set(body) - _FM_KEYS)
    if unknown:
        raise InvalidArticle(unknown[0], f"unknown key; allowed: {', '.join(sorted(_FM_KEYS))}")
    has_md, has_html = "markdown" in body, "html" in body
    if has_md == has_html:
        raise InvalidArticle("markdown", "give exactly one of markdown or html")
    text = body["markdown"] if has_md else body["html"]
    if not isinstance(text, str) or not text.strip():
        raise InvalidArticle("markdown" if has_md else "html", "must be non-empty text")
    title = body.get("title")
    if title is not None and (not isinstance(title, str) or not title.strip()):
        raise InvalidArticle("title", "must be non-empty text")
    if "\x00" in text or (title and "\x00" in title):
        raise InvalidArticle("markdown" if has_md else "html", "must not contain NUL")
    front = check_front_matter(body.get("front_matter"))
    content = _document(title, front, text, html=has_html)
    ext = ".md" if has_md else ".html"
    return Operation("put", check_locale(locale), check_slug(slug), ext, content)


def operation_from_text(locale: str, slug: str, raw: bytes, html: bool) -> Operation:
    """A ``put`` from a raw ``text/markdown`` or ``text/html`` body (UTF-8)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArticle("body", f"is not valid UTF-8 (byte {exc.start})") from None
    if "\x00" in text:
        raise InvalidArticle("body", "must not contain NUL")
    if not text.strip():
        raise InvalidArticle("body", "must not be empty")
    ext = ".html" if html else ".md"
    return Operation("put", check_locale(locale), check_slug(slug), ext, text)


def existing_files(corpus_dir: Path, locale: str, slug: str) -> list[Path]:
    """The files that hold ``slug`` in ``locale`` now (normally one)."""
    base = Path(corpus_dir) / locale / slug
    paths = (base.with_name(base.name + ext) for ext in EXTENSIONS)
    return [p for p in paths if p.is_file()]


def _inside(corpus_dir: Path, path: Path) -> bool:
    """Whether ``path`` (its deepest existing ancestor, resolved) lies inside the corpus."""
    root = os.path.realpath(corpus_dir)
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    real = os.path.realpath(probe)
    return real == root or real.startswith(root + os.sep)


def _stage(path: Path, data: bytes) -> Path:
    """Write ``data`` to a hidden temporary file beside ``path`` (the walker skips it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return tmp


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


_STORAGE_ERRORS = (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT)


def apply(corpus_dir: Path, operations: list[Operation]) -> list[dict]:
    """Write every operation (already validated). Returns what each did.

    Two phases, so a failure leaves nothing half-written: every new file is first staged as a
    temporary file (a full or read-only disk fails here, and the staged files are removed),
    then each is renamed into place. Raises :class:`CorpusReadOnly` when the folder cannot be
    written, ``FileNotFoundError`` for a delete of an article that does not exist, and
    :class:`InvalidArticle` for a path that resolves outside the corpus (a symlinked folder).
    """
    corpus_dir = Path(corpus_dir)
    for op in operations:
        target = corpus_dir / op.locale / (op.slug + op.extension)
        if not _inside(corpus_dir, target):
            raise InvalidArticle("slug", "resolves outside the corpus folder")
        if op.op == "delete" and not existing_files(corpus_dir, op.locale, op.slug):
            raise FileNotFoundError(f"{op.locale}/{op.slug}")
    staged: list[tuple[Operation, Path, Path]] = []
    try:
        for op in operations:
            if op.op == "put":
                target = corpus_dir / op.locale / (op.slug + op.extension)
                staged.append((op, target, _stage(target, op.content.encode("utf-8"))))
    except OSError as exc:
        for _, _, tmp in staged:
            _unlink_quietly(tmp)
        if exc.errno in _STORAGE_ERRORS:
            raise CorpusReadOnly(
                exc.errno, f"the corpus folder cannot be written: {exc.strerror}"
            ) from exc
        raise
    by_op = {id(op): (target, tmp) for op, target, tmp in staged}
    done = []
    for op in operations:
        before = existing_files(corpus_dir, op.locale, op.slug)
        if op.op == "put":
            target, tmp = by_op[id(op)]
            os.replace(tmp, target)
            for other in before:
                if other != target:
                    other.unlink()
            done.append(
                {
                    "op": "put",
                    "locale": op.locale,
                    "slug": op.slug,
                    "created": not before,
                    "file": f"{op.locale}/{op.slug}{op.extension}",
                }
            )
        else:
            for path in before:
                path.unlink()
            done.append({"op": "delete", "locale": op.locale, "slug": op.slug})
    return done
