"""The article cache keeps parsed and rendered articles across builds: its key must change when
a library that shapes that output changes, not only when helpapi's own modules do."""

from __future__ import annotations

from importlib import metadata

import pytest

from helpapi import article_cache


@pytest.mark.parametrize("dist", ["cmarkgfm", "nh3", "beautifulsoup4", "PyYAML"])
def test_a_parsing_library_upgrade_changes_the_cache_fingerprint(monkeypatch, dist):
    before = article_cache._code_fingerprint.__wrapped__()
    real = metadata.version

    def upgraded(name):
        return real(name) + ".post1" if name.lower() == dist.lower() else real(name)

    monkeypatch.setattr(metadata, "version", upgraded)
    assert article_cache._code_fingerprint.__wrapped__() != before


def test_the_fingerprint_is_stable_between_calls():
    assert article_cache._code_fingerprint.__wrapped__() == article_cache._code_fingerprint()
