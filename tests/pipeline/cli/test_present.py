from datetime import UTC, datetime, timedelta

import pytest

from pipeline.cli.present import parse_since

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "delta"), [("30m", timedelta(minutes=30)),
                                             ("2h", timedelta(hours=2)), ("7d", timedelta(days=7))])
def test_relative_since(text: str, delta: timedelta) -> None:
    assert parse_since(text, now=NOW) == NOW - delta


def test_iso_since_defaults_to_utc() -> None:
    assert parse_since("2026-11-20T08:00:00") == datetime(2026, 11, 20, 8, tzinfo=UTC)


def test_bad_since_says_what_is_accepted() -> None:
    with pytest.raises(ValueError, match="30m, 2h, 7d"):
        parse_since("yesterday")
