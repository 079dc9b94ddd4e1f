"""Build once, ship everywhere: one generation as a verified ``.tar.gz`` artifact.

For replicas without a shared filesystem: CI (or one builder) runs ``helpapi index build``
then :func:`pack_generation`; every replica downloads the file and runs
:func:`unpack_generation`, which verifies it in full before anything is served from it.

Archive layout (gzip, standard library ``tarfile``; zstd would need a new dependency)::

    MANIFEST.json        first member: format, generation name, created, helpapi version,
                         and per file its path, size and sha256
    meta.json            the generation's own files, paths relative to the generation folder
    de-DE/...

Unpacking trusts nothing in the archive: the manifest must come first and be well formed
(plain relative paths, a plain generation name, bounded member count and total size); every
later member must be a regular file listed in the manifest with the listed size and sha256;
every listed file must be present. Files are written into ``.unpack-*`` inside the index folder,
the generation is opened there (:class:`helpapi.search.IndexSet`, no damaged locale allowed),
then renamed into place and ``CURRENT`` switched in one rename
(:func:`helpapi.generations.switch_to`). Any failure removes the staging folder and leaves
``CURRENT`` as it was.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import tarfile
import time
import zlib
from importlib import metadata
from pathlib import Path
from pathlib import PurePosixPath

from . import generations

MANIFEST = "MANIFEST.json"
FORMAT = 1
# Bounds on what an archive may ask us to write. The 20-locale scale corpus (58k articles) makes
# a generation of a few thousand files and well under 2 GB; these leave room for growth while
# refusing an archive that would fill the disk or the inode table.
MAX_MEMBERS = 100_000
MAX_TOTAL_BYTES = 32 << 30
MAX_MANIFEST_BYTES = 32 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20
# A staging folder older than this belongs to an unpack that was killed.
_STALE_STAGING_SECONDS = 86400


class PackError(Exception):
    """The generation cannot be packed (none serving, or its files fail their checksums)."""


class UnpackError(Exception):
    """The archive is refused; nothing in the index folder was changed."""


@dataclasses.dataclass
class PackReport:
    """What :func:`pack_generation` wrote."""

    generation: str
    path: str
    files: int
    bytes_in: int
    bytes_out: int
    seconds: float


@dataclasses.dataclass
class UnpackReport:
    """What :func:`unpack_generation` switched to."""

    generation: str
    index_dir: str
    files: int
    bytes: int
    seconds: float
    previous: str | None
    already_present: bool = False


def _version() -> str:
    try:
        return metadata.version("helpapi")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def _hash_file(path: Path, recorded: list | None) -> tuple[int, str]:
    """(size, sha256) of one file; checks the BLAKE2b of ``meta.json`` on the same read."""
    sha = hashlib.sha256()
    blake = hashlib.new(generations.CHECKSUM) if recorded else None
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            sha.update(chunk)
            if blake is not None:
                blake.update(chunk)
            size += len(chunk)
    if recorded and (size != recorded[0] or blake.hexdigest() != recorded[1]):
        raise PackError(
            f"{path.name}: differs from {generations.META} (size or checksum); "
            "the generation is damaged, rebuild it before packing"
        )
    return size, sha.hexdigest()


class _HashingReader:
    """A file wrapper that hashes what tarfile reads, to catch a file changed mid-pack."""

    def __init__(self, fh):
        self.fh = fh
        self.sha = hashlib.sha256()

    def read(self, n=-1):
        data = self.fh.read(n)
        self.sha.update(data)
        return data


def pack_generation(
    index_dir: Path, out: Path | None = None, name: str | None = None
) -> PackReport:
    """Write generation ``name`` (default: the serving one) of ``index_dir`` to ``out``.

    Every file is checked against the checksums in the generation's ``meta.json`` first, so a
    damaged generation is never shipped. ``out`` defaults to
    ``helpapi-index-<generation>.tar.gz`` in the working folder; it is written beside itself
    and renamed, so a reader never sees half an archive.
    """
    started = time.perf_counter()
    index_dir = Path(index_dir)
    if name is None:
        name = generations.current_generation(index_dir)
        if name is None:
            raise PackError(f"no serving generation in {index_dir}; run: helpapi index build")
    if not generations.is_generation(index_dir, name):
        raise PackError(f"{name!r} is not a complete generation of {index_dir}")
    gen_dir = index_dir / name
    meta = generations.read_meta(gen_dir)
    recorded = {}
    for loc, info in meta.get("locales", {}).items():
        for rel, entry in (info.get("files") or {}).items():
            recorded[f"{loc}/{rel}"] = entry
    files = []
    for path in sorted(gen_dir.rglob("*")):
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            raise PackError(f"{path.relative_to(gen_dir)}: not a regular file")
        if path.is_file():
            rel = path.relative_to(gen_dir).as_posix()
            size, sha = _hash_file(path, recorded.get(rel))
            files.append({"path": rel, "size": size, "sha256": sha})
    manifest = {
        "format": FORMAT,
        "generation": name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "helpapi_version": _version(),
        "files": files,
    }
    out = Path(out) if out else Path(f"helpapi-index-{name}.tar.gz")
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
    try:
        # Level 6, not tarfile's 9: half the CPU for a few per cent more bytes.
        with tarfile.open(tmp, "w:gz", compresslevel=6, format=tarfile.PAX_FORMAT) as tf:
            body = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
            tf.addfile(_regular(MANIFEST, len(body)), io.BytesIO(body))
            for entry in files:
                # Our own TarInfo, not gettarinfo(): generations hard-link files from older
                # ones, and tarfile would store a second link to an inode as a link member.
                with open(gen_dir / entry["path"], "rb") as fh:
                    reader = _HashingReader(fh)
                    tf.addfile(_regular(entry["path"], entry["size"]), reader)
                if reader.sha.hexdigest() != entry["sha256"]:
                    raise PackError(f"{entry['path']}: changed while packing")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return PackReport(
        name,
        str(out),
        len(files),
        sum(f["size"] for f in files),
        out.stat().st_size,
        time.perf_counter() - started,
    )


def _regular(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = int(time.time())
    info.type = tarfile.REGTYPE
    return info


def _check_path(path) -> str | None:
    """Why ``path`` is not a plain relative member path; None when it is."""
    if not isinstance(path, str) or not path:
        return "empty or not text"
    if len(path) > 1024 or "\x00" in path or "\\" in path:
        return "not a plain path"
    if path.startswith("/") or PurePosixPath(path).is_absolute():
        return "absolute path"
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "'..', '.' or an empty part"
    if path == MANIFEST:
        return "names the manifest"
    return None


def read_manifest(data: bytes, max_members: int, max_bytes: int) -> dict:
    """Parse and check a manifest; raises :class:`UnpackError` saying what is wrong."""
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UnpackError(f"{MANIFEST} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise UnpackError(f"{MANIFEST}: not a format {FORMAT} helpapi index manifest")
    name = manifest.get("generation")
    if not isinstance(name, str) or not generations.GENERATION_PATTERN.fullmatch(name):
        raise UnpackError(
            f"{MANIFEST}: generation {str(name)[:60]!r} is not a generation name like g20260101-..."
        )
    files = manifest.get("files")
    if not isinstance(files, list) or not files:
        raise UnpackError(f"{MANIFEST}: no files listed")
    if len(files) > max_members:
        raise UnpackError(f"{MANIFEST}: {len(files)} files, more than the limit of {max_members}")
    seen = {}
    total = 0
    for entry in files:
        if not isinstance(entry, dict):
            raise UnpackError(f"{MANIFEST}: a file entry is not an object")
        path, size, sha = entry.get("path"), entry.get("size"), entry.get("sha256")
        problem = _check_path(path)
        if problem:
            raise UnpackError(f"{MANIFEST}: file {str(path)[:80]!r}: {problem}")
        if path in seen:
            raise UnpackError(f"{MANIFEST}: {path} is listed twice")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise UnpackError(f"{MANIFEST}: {path}: size is not a byte count")
        if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
            raise UnpackError(f"{MANIFEST}: {path}: sha256 is not a hex digest")
        total += size
        seen[path] = entry
    if total > max_bytes:
        raise UnpackError(f"{MANIFEST}: {total} bytes in all, more than the limit of {max_bytes}")
    if generations.META not in seen:
        raise UnpackError(f"{MANIFEST}: lists no {generations.META}")
    # A file and a folder of the same name cannot both exist.
    for path in seen:
        parent = path.rsplit("/", 1)[0] if "/" in path else None
        while parent:
            if parent in seen:
                raise UnpackError(f"{MANIFEST}: {parent} is both a file and a folder")
            parent = parent.rsplit("/", 1)[0] if "/" in parent else None
    manifest["_by_path"] = seen
    manifest["_total"] = total
    return manifest


def unpack_generation(
    archive: Path,
    index_dir: Path,
    max_members: int = MAX_MEMBERS,
    max_bytes: int = MAX_TOTAL_BYTES,
) -> UnpackReport:
    """Verify ``archive``, install its generation in ``index_dir`` and switch to it.

    Raises :class:`UnpackError` (nothing changed: the staging folder is removed and ``CURRENT``
    is untouched) when the archive is truncated or corrupt, holds anything but regular files
    listed in its manifest with matching sizes and sha256, or its generation does not open
    cleanly. Unpacking an archive whose generation is already installed switches to it.
    """
    started = time.perf_counter()
    archive, index_dir = Path(archive), Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(index_dir)
    previous = generations.current_generation(index_dir)
    staging = index_dir / f".unpack-{secrets.token_hex(6)}"
    try:
        manifest = _extract(archive, staging, index_dir, max_members, max_bytes)
        name = manifest["generation"]
        _check_opens(index_dir, staging)
        target = index_dir / name
        already = target.exists()
        if already:
            _check_same(target, manifest)
            shutil.rmtree(staging)
        else:
            _fsync_tree(staging)
            os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    generations.switch_to(index_dir, name)
    generations.prune(index_dir)
    return UnpackReport(
        name,
        str(index_dir),
        len(manifest["files"]),
        manifest["_total"],
        time.perf_counter() - started,
        previous,
        already,
    )


def _extract(archive: Path, staging: Path, index_dir: Path, max_members, max_bytes) -> dict:
    """Stream the archive into ``staging``, checking every member; returns the manifest."""
    try:
        tf = tarfile.open(archive, "r:gz")
    except FileNotFoundError:
        raise UnpackError(f"{archive}: no such file") from None
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise UnpackError(f"{archive.name}: not a readable .tar.gz ({exc})") from None
    try:
        with tf:
            first = tf.next()
            if first is None or first.name != MANIFEST or not first.isreg():
                raise UnpackError(f"{archive.name}: the first member is not {MANIFEST}")
            if first.size > MAX_MANIFEST_BYTES:
                raise UnpackError(f"{MANIFEST}: {first.size} bytes, too large")
            manifest = read_manifest(tf.extractfile(first).read(), max_members, max_bytes)
            free = shutil.disk_usage(index_dir).free
            if manifest["_total"] > free:
                raise UnpackError(
                    f"{manifest['_total']} bytes to unpack, {free} free in {index_dir}"
                )
            staging.mkdir()
            listed = manifest["_by_path"]
            done: set[str] = set()
            while (member := tf.next()) is not None:
                _extract_member(tf, member, listed, done, staging)
            missing = sorted(set(listed) - done)
            if missing:
                raise UnpackError(
                    f"{archive.name}: {len(missing)} listed file(s) missing, e.g. {missing[0]} "
                    "(truncated archive?)"
                )
            # Read to the end so that gzip checks its CRC and length over the whole stream.
            while tf.fileobj.read(_CHUNK):
                pass
    except UnpackError:
        raise
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise UnpackError(f"{archive.name}: truncated or corrupt archive ({exc})") from None
    return manifest


def _extract_member(tf, member, listed, done, staging: Path) -> None:
    name = member.name
    entry = listed.get(name)
    if entry is None:
        problem = _check_path(name)
        why = f"unsafe path ({problem})" if problem else "not listed in the manifest"
        raise UnpackError(f"member {name[:80]!r}: {why}")
    if not member.isreg():
        raise UnpackError(f"member {name}: not a regular file (link, folder or device)")
    if name in done:
        raise UnpackError(f"member {name}: appears twice")
    if member.size != entry["size"]:
        raise UnpackError(f"member {name}: {member.size} bytes, the manifest says {entry['size']}")
    dest = staging / name
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UnpackError(f"cannot write {name}: {exc.strerror or exc}") from None
    sha = hashlib.sha256()
    src = tf.extractfile(member)
    try:
        # O_EXCL|O_NOFOLLOW: never write through something already there.
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        out = os.fdopen(fd, "wb")
    except OSError as exc:
        raise UnpackError(f"cannot write {name}: {exc.strerror or exc}") from None
    with out:
        while chunk := src.read(_CHUNK):
            sha.update(chunk)
            try:
                out.write(chunk)
            except OSError as exc:  # a full disk is not a corrupt archive
                raise UnpackError(f"cannot write {name}: {exc.strerror or exc}") from None
    if sha.hexdigest() != entry["sha256"]:
        raise UnpackError(f"member {name}: sha256 differs from the manifest (corrupt archive)")
    done.add(name)


def _check_opens(index_dir: Path, staging: Path) -> None:
    """The unpacked generation opens with every locale served and its meta.json checksums."""
    from .search import IndexSet  # search imports Whoosh; pack stays light until needed

    try:
        meta = generations.read_meta(staging)
        locales = meta["locales"]
        for loc, info in locales.items():
            problem = generations.verify_locale(staging, loc, info.get("files"))
            if problem:
                raise UnpackError(f"locale {loc}: {problem}")
        with IndexSet(index_dir, staging.name) as ixset:
            damaged = dict(ixset.damaged)
    except UnpackError:
        raise
    except Exception as exc:  # a generation that does not open is refused, whatever the cause
        raise UnpackError(f"the unpacked generation does not open: {exc}") from None
    if damaged:
        loc, why = next(iter(sorted(damaged.items())))
        raise UnpackError(f"the unpacked generation does not open: locale {loc}: {why}")


def _check_same(target: Path, manifest: dict) -> None:
    """An installed generation of the same name must be this archive's (same meta.json)."""
    entry = manifest["_by_path"][generations.META]
    try:
        _, sha = _hash_file(target / generations.META, None)
    except OSError:
        sha = None
    if sha != entry["sha256"]:
        raise UnpackError(
            f"{target.name} already exists in the index folder with different contents"
        )


def _fsync_tree(root: Path) -> None:
    """Flush the unpacked files before the rename makes them visible (a crash leaves whole
    files or no generation, never a switched-to generation of empty files)."""
    for dirpath, _, filenames in os.walk(root):
        for fname in filenames:
            with open(os.path.join(dirpath, fname), "rb") as fh:
                os.fsync(fh.fileno())


def _remove_stale_staging(index_dir: Path) -> None:
    now = time.time()
    for path in index_dir.glob(".unpack-*"):
        try:
            if now - path.stat().st_mtime > _STALE_STAGING_SECONDS:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass
