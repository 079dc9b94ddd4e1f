"""bench/regen.py replaces only its generated block of RESULTS.md (the history stays)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _regen():
    spec = importlib.util.spec_from_file_location("regen", ROOT / "bench" / "regen.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_first_run_inserts_the_block_after_the_title():
    regen = _regen()
    block = f"{regen.BEGIN}\nnew\n{regen.END}"
    out = regen.splice("# Benchmark results\n\n## old history\n", block)
    assert out.startswith("# Benchmark results\n\n" + block)
    assert out.endswith("## old history\n")


def test_next_runs_replace_only_the_block():
    regen = _regen()
    text = f"# T\n\n{regen.BEGIN}\nold figures\n{regen.END}\n\n## history\nkept\n"
    out = regen.splice(text, f"{regen.BEGIN}\nnew figures\n{regen.END}")
    assert "old figures" not in out and "new figures" in out
    assert out.endswith("## history\nkept\n") and out.count(regen.BEGIN) == 1


def test_every_benchmark_it_runs_exists():
    regen = _regen()
    for argv in regen.steps(Path("/tmp/x"), scale=True):
        assert (ROOT / argv[0]).is_file(), argv[0]
