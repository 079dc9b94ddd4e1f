"""Whether two checkouts build the same index files, byte for byte, and what each build cost.

Each checkout (``--base``, default /work/main, and this one) builds ``--locales`` of
``--corpus`` with its own code (``build_locale``, in a fresh interpreter, ``PYTHONPATH``)
into its own folder; Whoosh's random segment name is fixed in both (``random.seed``), so the
segment files compare too. Then every file of each locale folder (``postings.bin``,
``display.bin``, ``facets.json``, the Whoosh TOC and segment files) is compared, and each
build's CPU seconds (``time.process_time``) printed with head/base. Exits 1 on a difference.

    .venv/bin/python bench/build_same.py --base /work/main --locales de-DE,ja-JP
"""

from __future__ import annotations

import filecmp
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from bench.common import build_ab_args  # noqa: E402
from bench.common import run_with  # noqa: E402

CORPUS = "/work/shared/corpus"
_RUN = """
import random, sys, time
random.seed(18)
from helpapi import indexer
t0 = time.process_time()
indexer.build_locale(sys.argv[1], sys.argv[2], sys.argv[3])
print(time.process_time() - t0)
"""


def build(checkout: Path, corpus: str, locale: str, out: Path) -> float:
    """CPU seconds of ``checkout``'s build of ``locale`` into ``out/<locale>``."""
    out.mkdir(parents=True, exist_ok=True)
    # One hash seed for both: Whoosh lists a segment's files from a set.
    os.environ["PYTHONHASHSEED"] = "18"
    return float(run_with(checkout, _RUN, corpus, locale, str(out), cwd=out).split()[-1])


def _segment(path: Path) -> dict:
    """A Whoosh compound segment file's parts: ``{name: (offset, length, bytes)}`` (its
    directory also records each part's modification time, which is left out)."""
    from whoosh.filedb.compound import CompoundStorage
    from whoosh.filedb.structfile import StructFile

    with open(path, "rb") as fh:
        store = CompoundStorage(StructFile(fh), use_mmap=False)
        data = fh.seek(0) or fh.read()
        parts = {}
        for name, info in store._dir.items():
            offset, length = info["offset"], info["length"]
            parts[name] = (offset, length, data[offset : offset + length])
        return parts


def differences(a: Path, b: Path) -> list[str]:
    """The files of folder ``a`` and ``b`` that are missing on one side or differ (Whoosh
    segments part by part, without their parts' times)."""
    names = sorted({p.name for p in a.iterdir()} | {p.name for p in b.iterdir()})
    out = []
    for name in names:
        pa, pb = a / name, b / name
        if not pa.exists() or not pb.exists():
            out.append(f"{name}: only in {'base' if pa.exists() else 'head'}")
        elif name.endswith(".seg"):
            sa, sb = _segment(pa), _segment(pb)
            if sa != sb:
                parts = sorted(n for n in sa.keys() | sb.keys() if sa.get(n) != sb.get(n))
                out.append(f"{name}: parts {', '.join(parts)} differ")
        elif not filecmp.cmp(pa, pb, shallow=False):
            out.append(f"{name}: differs")
    return out


def main() -> None:
    args, base, head = build_ab_args(__doc__, CORPUS)
    print("| locale | files | base CPU s | head CPU s | head/base | same bytes |")
    print("|---|---:|---:|---:|---:|---|")
    bad = 0
    with tempfile.TemporaryDirectory(prefix="build-same-") as tmp:
        for locale in args.locales.split(","):
            b = build(base, args.corpus, locale, Path(tmp) / "base")
            h = build(head, args.corpus, locale, Path(tmp) / "head")
            diff = differences(Path(tmp) / "base" / locale, Path(tmp) / "head" / locale)
            files = len(list((Path(tmp) / "head" / locale).iterdir()))
            same = "yes" if not diff else "NO: " + "; ".join(diff)
            print(f"| {locale} | {files} | {b:.2f} | {h:.2f} | {h / b:.3f} | {same} |", flush=True)
            bad += bool(diff)
    print(f"load after {os.getloadavg()[0]:.1f}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
