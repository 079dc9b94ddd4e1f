"""The build lease: which instance may build, across hosts that share the index folder.

Replicas on different hosts share one index folder over a network filesystem (NFS, EFS, Azure
Files). There, a PID means nothing (it names a process of another kernel) and ``flock`` may be
local to each client. The lease is the lock instead: a file in ``<index>/jobs/`` that says which
instance owns the build and until when, renewed by the builder's heartbeat.

Files: ``.lease.<seq>`` (12 digits), one per ownership; the highest ``seq`` is the current one.
Its JSON holds the owning instance (``HELPAPI_INSTANCE_ID``), the job, the runner's pid (only
meaningful to that same instance), and ``expires`` (wall-clock seconds).

- **Take**: only when the current lease is released or expired; the taker creates
  ``.lease.<seq+1>`` with ``link()``, which fails when that name exists. Link is atomic on the
  server for NFS (the classic NFS lock primitive), so of two instances taking at once exactly
  one wins, whatever their clocks say. The file is written in full before it is linked: nobody
  reads half a lease.
- **Renew** (the heartbeat): the owner rewrites its own file (write, ``rename`` over it) and then
  checks that no higher ``seq`` exists. Once one does, the lease was taken over and the owner has
  lost it (:class:`LeaseLost`): it must stop and never switch a generation.
- **Release**: the owner marks its file released; the next taker creates ``seq+1``.
- **Supersede**: whoever records an expired or dead owner's job ``failed`` creates ``seq+1``
  as a released tombstone first, so a late owner (a paused VM, a partitioned host) learns at
  its next heartbeat that it lost and stops, instead of switching after the job was declared
  failed. The sequence number is a fencing token.

Expiry compares wall clocks of different hosts: they must agree to well under the lease
duration minus the heartbeat interval (NTP gives milliseconds; the defaults leave 20 s).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import socket
import stat
import time
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import replace
from pathlib import Path

PREFIX = ".lease."
_NAME = re.compile(r"\.lease\.(\d{12})")
# Leases older than the current one by more than this many are removed (a short history helps
# reading what happened; the current and its predecessor are what matter).
KEEP = 20
DEFAULT_SECONDS = 30
DEFAULT_HEARTBEAT = 5
# The longest lease a setting allows (HELPAPI_LEASE_SECONDS's upper bound): an expiry further
# than this past the file's last write is not trusted (a writer's clock years ahead, a hand
# edit), so no lease file can block every build for ever.
MAX_SECONDS = 3600
# Files of the shared jobs/ folder (leases, jobs, cancel markers) are small; larger is damage.
MAX_FILE_BYTES = 1024 * 1024


class LeaseHeld(Exception):
    """Another owner's lease is live; ``lease`` is it."""

    def __init__(self, lease: Lease):
        super().__init__(f"{lease.instance} holds the build lease until {lease.expires:.0f}")
        self.lease = lease


class LeaseLost(Exception):
    """The lease was taken over (or released) since its owner last renewed it."""


@dataclass(frozen=True)
class Lease:
    """One ownership of the build: ``seq`` orders them (and fences the late owner)."""

    seq: int
    instance: str
    job: str
    expires: float
    acquired: float = 0.0
    pid: int | None = None
    released: bool = False

    def live(self, now: float) -> bool:
        """Whether it still excludes other builders at wall-clock time ``now``."""
        return not self.released and now < self.expires


_instance: list[str] = []


def instance_id(environ=None) -> str:
    """This instance's identity: ``HELPAPI_INSTANCE_ID``, else hostname + the kernel's boot id.

    Every gunicorn worker and runner of one instance must agree on it (a boot id does; a random
    id per process would not), and it must differ between hosts and between containers that
    share a kernel: set ``HELPAPI_INSTANCE_ID`` (e.g. the pod name) when hostnames can repeat.
    A random id, chosen once per process, is the last resort.
    """
    environ = os.environ if environ is None else environ
    explicit = environ.get("HELPAPI_INSTANCE_ID", "").strip()
    if explicit:
        return explicit
    if not _instance:
        try:
            boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")
        except OSError:
            boot = secrets.token_hex(8)
        _instance.append(f"{socket.gethostname()}-{boot[:12]}")
    return _instance[0]


def _path(folder: Path, seq: int) -> Path:
    return Path(folder) / f"{PREFIX}{seq:012d}"


def _seqs(folder: Path) -> list[int]:
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    return sorted(int(m.group(1)) for n in names if (m := _NAME.fullmatch(n)))


def read_small(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a small regular file of the shared folder, read without trusting it.

    Raises FileNotFoundError when it does not exist and ValueError when it is not a regular
    file (a symlink is not followed, a FIFO never blocks, a device is never read) or holds more
    than ``limit`` bytes; other OSErrors pass.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError(f"{path} is a symlink") from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path} is not a regular file")
        chunks, size = [], 0
        while chunk := os.read(fd, limit + 1 - size):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise ValueError(f"{path} is larger than {limit} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


def read(folder: Path, seq: int) -> Lease | None:
    """Lease number ``seq``, or None when it does not exist.

    A file that cannot be parsed (written by hand, a disk fault, not a regular file) counts as
    live until its modification time plus the default duration: never as free at once. An
    expiry is trusted at most :data:`MAX_SECONDS` past the file's last write.
    """
    path = _path(folder, seq)
    try:
        data = json.loads(read_small(path))
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        lease = Lease(
            seq=seq,
            instance=str(data["instance"]),
            job=str(data.get("job", "")),
            expires=float(data["expires"]),
            acquired=float(data.get("acquired", 0.0)),
            pid=data.get("pid"),
            released=bool(data.get("released", False)),
        )
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError, OSError):
        lease = None
    try:
        mtime = os.lstat(path).st_mtime
    except OSError:
        return lease
    if lease is None:
        return Lease(seq=seq, instance="?", job="", expires=mtime + DEFAULT_SECONDS)
    if not lease.expires <= mtime + MAX_SECONDS:  # also NaN
        lease = replace(lease, expires=mtime + MAX_SECONDS)
    return lease


def current(folder: Path) -> Lease | None:
    """The lease with the highest ``seq`` (live or not), or None when none was ever taken."""
    for seq in reversed(_seqs(folder)):
        lease = read(folder, seq)
        if lease is not None:
            return lease
    return None


def _encode(lease: Lease) -> bytes:
    data = asdict(lease)
    del data["seq"]  # the file name says it
    return json.dumps(data).encode("utf-8")


def _tmp(folder: Path) -> Path:
    return Path(folder) / f"{PREFIX}tmp-{secrets.token_hex(6)}"


def _create(folder: Path, lease: Lease) -> bool:
    """Create lease file ``lease.seq`` unless it exists; True when this call created it."""
    tmp = _tmp(folder)
    try:
        with open(tmp, "wb") as fh:
            fh.write(_encode(lease))
        try:
            os.link(tmp, _path(folder, lease.seq))
        except FileExistsError:
            return False
        except OSError:
            # No hard links on this filesystem: exclusive create, then write (a reader seeing
            # it empty meanwhile counts it live: see read()).
            try:
                fd = os.open(_path(folder, lease.seq), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "wb") as fh:
                fh.write(_encode(lease))
        return True
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _prune(folder: Path, seq: int) -> None:
    for old in _seqs(folder):
        if old < seq - KEEP:
            with contextlib.suppress(OSError):
                _path(folder, old).unlink()
    # Temporary files of writers that died between write and link/rename.
    for tmp in Path(folder).glob(f"{PREFIX}tmp-*"):
        with contextlib.suppress(OSError):
            if time.time() - tmp.stat().st_mtime > 3600:
                tmp.unlink()


def take(
    folder: Path,
    job: str,
    seconds: float,
    instance: str | None = None,
    pid: int | None = None,
    clock=time.time,
) -> Lease:
    """Take the build lease for ``job`` for ``seconds``. Raises :class:`LeaseHeld` when the
    current lease is live or another taker won the race for the next one."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    now = clock()
    cur = current(folder)
    if cur is not None and cur.live(now):
        raise LeaseHeld(cur)
    lease = Lease(
        seq=(cur.seq if cur else 0) + 1,
        instance=instance or instance_id(),
        job=job,
        expires=now + seconds,
        acquired=now,
        pid=pid,
    )
    if not _create(folder, lease):
        raise LeaseHeld(read(folder, lease.seq) or current(folder) or lease)
    _prune(folder, lease.seq)
    return lease


def superseded(folder: Path, lease: Lease) -> bool:
    """Whether a lease newer than ``lease`` exists (it was taken over or fenced off)."""
    return any(seq > lease.seq for seq in _seqs(folder))


def renew(
    folder: Path, lease: Lease, seconds: float, pid: int | None = None, clock=time.time
) -> Lease:
    """Extend the owner's lease by ``seconds`` from now; :class:`LeaseLost` if taken over."""
    if superseded(folder, lease):
        raise LeaseLost(f"build lease {lease.seq} was taken over")
    renewed = replace(lease, expires=clock() + seconds, pid=lease.pid if pid is None else pid)
    _rewrite(folder, renewed)
    # A taker may have linked seq+1 between the check and the rename: it judged the lease
    # expired, so the owner was already late. The owner yields.
    if superseded(folder, lease):
        raise LeaseLost(f"build lease {lease.seq} was taken over")
    return renewed


def _rewrite(folder: Path, lease: Lease) -> None:
    tmp = _tmp(folder)
    try:
        with open(tmp, "wb") as fh:
            fh.write(_encode(lease))
        os.replace(tmp, _path(folder, lease.seq))
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def release(folder: Path, lease: Lease) -> None:
    """Give the lease up (the build is over): the next taker need not wait for its expiry."""
    if superseded(folder, lease):
        return  # nothing to give: it was taken over, and the newer lease must stay as it is
    with contextlib.suppress(OSError):
        _rewrite(folder, replace(lease, released=True))


def supersede(folder: Path, lease: Lease, instance: str | None = None, clock=time.time) -> bool:
    """Fence off ``lease`` (its owner is dead or expired): create the next lease, released.

    True when this call made it; False when a newer lease already exists (taken or fenced).
    """
    now = clock()
    tombstone = Lease(
        seq=lease.seq + 1,
        instance=instance or instance_id(),
        job="",
        expires=now,
        acquired=now,
        released=True,
    )
    return _create(Path(folder), tombstone)
