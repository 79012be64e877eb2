"""Fixtures for the crawler tests: the real demo comments and the demo site on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crawlers.demosite import DemoComment, DemoSite, demo_comments


@pytest.fixture(scope="session")
def comments() -> list[DemoComment]:
    """Every demo comment: the whole test split, so coverage checks see all real texts."""
    return demo_comments()


@pytest.fixture
def demo_site(comments: list[DemoComment]) -> Iterator[DemoSite]:
    with DemoSite(comments) as site:
        yield site
