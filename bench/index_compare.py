"""Whether two index folders hold the same index, file by file, locale by locale.

Compares the serving generation of each folder (or two generation folders given directly):
every file of every locale, byte for byte, with the Whoosh compound segment compared by its
inner files (a segment's name is random, so the ``.seg`` and ``.toc`` names and the TOC differ
between any two builds); ``docs.json`` is compared without its code fingerprint (which changes
with any edit of the code it hashes). ``meta.json`` (times, checksums of the random names) is
not compared. Prints one line per locale and exits 1 when anything differs.

    .venv/bin/python bench/index_compare.py /tmp/main-idx /tmp/head-idx
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from whoosh.filedb.compound import CompoundStorage
from whoosh.filedb.filestore import FileStorage


def generation(folder: Path) -> Path:
    """The serving generation of an index folder, or the folder itself if it is one."""
    current = folder / "CURRENT"
    if current.exists():
        return folder / current.read_text().strip()
    return folder


def locale_files(folder: Path) -> dict[str, str]:
    """``{name: sha1}`` of every compared file of one locale's index."""
    out = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".seg":
            store = CompoundStorage(FileStorage(str(folder)).open_file(path.name), use_mmap=False)
            for name in store.list():
                with store.open_file(name) as fh:
                    out["seg" + name[name.index(".") :]] = hashlib.sha1(fh.read()).hexdigest()
            store.close()
        elif path.name == "docs.json":
            docs = json.loads(path.read_text("utf-8"))["docs"]
            out["docs.json (docs)"] = hashlib.sha1(json.dumps(docs).encode()).hexdigest()
        elif path.suffix != ".toc" and path.is_file():
            out[path.name] = hashlib.sha1(path.read_bytes()).hexdigest()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    args = ap.parse_args()
    ga, gb = generation(args.a), generation(args.b)
    locales_a = sorted(p.name for p in ga.iterdir() if p.is_dir())
    locales_b = sorted(p.name for p in gb.iterdir() if p.is_dir())
    bad = 0
    if locales_a != locales_b:
        print(f"locales differ: {locales_a} vs {locales_b}")
        bad += 1
    for locale in sorted(set(locales_a) & set(locales_b)):
        fa, fb = locale_files(ga / locale), locale_files(gb / locale)
        differ = sorted(n for n in fa.keys() | fb.keys() if fa.get(n) != fb.get(n))
        bad += bool(differ)
        print(
            f"{locale}: {len(fa)} files, " + (f"DIFFER: {', '.join(differ)}" if differ else "same")
        )
    print("identical" if not bad else "DIFFERENT")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
