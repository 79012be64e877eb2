"""parse_published: every published-time form the profile crawlers meet, read against one crawl."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from crawlers.dates import PublishedAt, parse_published

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 10:00 on 2026-03-01 in Shanghai.
CRAWLED = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


READ = [
    # relative to the crawl
    ("刚刚", utc(2026, 3, 1, 2, 0)),
    ("  刚刚\n", utc(2026, 3, 1, 2, 0)),
    ("30秒前", utc(2026, 3, 1, 1, 59, 30)),
    ("5分钟前", utc(2026, 3, 1, 1, 55)),
    ("5 分钟前", utc(2026, 3, 1, 1, 55)),
    (" 5分前 ", utc(2026, 3, 1, 1, 55)),
    ("半小时前", utc(2026, 3, 1, 1, 30)),
    ("2小时前", utc(2026, 3, 1, 0, 0)),
    ("2个小时前", utc(2026, 3, 1, 0, 0)),
    ("3天前", utc(2026, 2, 26, 2, 0)),
    ("1周前", utc(2026, 2, 22, 2, 0)),
    ("2周前", utc(2026, 2, 15, 2, 0)),
    ("今天 08:30", utc(2026, 3, 1, 0, 30)),
    ("今天08:30", utc(2026, 3, 1, 0, 30)),
    ("昨天 12:30", utc(2026, 2, 28, 4, 30)),
    ("前天 12:30:15", utc(2026, 2, 27, 4, 30, 15)),
    ("昨天", utc(2026, 2, 27, 16, 0)),  # a bare day is midnight in the site's zone
    ("今天", utc(2026, 2, 28, 16, 0)),
    ("09:15", utc(2026, 3, 1, 1, 15)),
    ("23:00", utc(2026, 3, 1, 15, 0)),  # today, though after the crawl: within the allowance
    # month and day: the crawl year, or last year when that is more than a day ahead
    ("02-14", utc(2026, 2, 13, 16, 0)),
    ("02-14 20:00", utc(2026, 2, 14, 12, 0)),
    ("03-02", utc(2026, 3, 1, 16, 0)),  # 14 hours ahead: this year
    ("03-03", utc(2025, 3, 2, 16, 0)),  # 38 hours ahead: last year
    ("05-12", utc(2025, 5, 11, 16, 0)),
    ("2月14日", utc(2026, 2, 13, 16, 0)),
    ("2月14日 20:00", utc(2026, 2, 14, 12, 0)),
    ("12月31日", utc(2025, 12, 30, 16, 0)),
    # full dates, naive in the site's zone
    ("2025-05-12", utc(2025, 5, 11, 16, 0)),
    ("2025/5/12", utc(2025, 5, 11, 16, 0)),
    ("2025-05-12 12:30", utc(2025, 5, 12, 4, 30)),
    ("2025-05-12 12:30:45", utc(2025, 5, 12, 4, 30, 45)),
    ("2025/05/12 12:30", utc(2025, 5, 12, 4, 30)),
    ("2025年5月12日", utc(2025, 5, 11, 16, 0)),
    ("2025年5月12日 12:30", utc(2025, 5, 12, 4, 30)),
    ("2025年05月12日 12:30:45", utc(2025, 5, 12, 4, 30, 45)),
    ("２０２５年５月１２日　１２：３０", utc(2025, 5, 12, 4, 30)),  # full-width
    ("2025-05-12T12:30:00", utc(2025, 5, 12, 4, 30)),
    # ISO 8601 with an offset keeps it
    ("2025-05-12T12:30:00+09:00", utc(2025, 5, 12, 3, 30)),
    ("2025-05-12T12:30:00-0500", utc(2025, 5, 12, 17, 30)),
    ("2025-05-12T12:30:00Z", utc(2025, 5, 12, 12, 30)),
    ("2025-05-12T12:30:00.250Z", utc(2025, 5, 12, 12, 30, 0, 250000)),
    ("2025-05-12 12:30:00+08:00", utc(2025, 5, 12, 4, 30)),
    # Unix seconds and milliseconds
    (1747024200, utc(2025, 5, 12, 4, 30)),
    (1747024200.5, utc(2025, 5, 12, 4, 30, 0, 500000)),
    (1747024200123, utc(2025, 5, 12, 4, 30, 0, 123000)),
    ("1747024200", utc(2025, 5, 12, 4, 30)),
    (" 1747024200000 ", utc(2025, 5, 12, 4, 30)),
    # RFC 2822, as RSS writes it
    ("Tue, 10 Jun 2025 04:00:00 GMT", utc(2025, 6, 10, 4, 0)),
    ("Tue, 10 Jun 2025 12:00:00 +0800", utc(2025, 6, 10, 4, 0)),
    ("10 Jun 2025 04:00:00 -0000", utc(2025, 6, 10, 4, 0)),
    # objects
    (datetime(2025, 5, 12, 12, 30), utc(2025, 5, 12, 4, 30)),
    (datetime(2025, 5, 12, 12, 30, tzinfo=UTC), utc(2025, 5, 12, 12, 30)),
    (datetime(2025, 5, 12, 12, 30, tzinfo=timezone(timedelta(hours=-3))), utc(2025, 5, 12, 15, 30)),
    (date(2025, 5, 12), utc(2025, 5, 11, 16, 0)),
]


@pytest.mark.parametrize(("raw", "expected"), READ, ids=[repr(raw) for raw, _ in READ])
def test_reads_every_form(raw: object, expected: datetime) -> None:
    got = parse_published(raw, CRAWLED, SHANGHAI)
    assert got == PublishedAt(expected, None)
    assert got.value is not None and got.value.utcoffset() == timedelta(0)


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000", "\n\t"])
def test_absent_is_no_value_and_no_problem(raw: object) -> None:
    assert parse_published(raw, CRAWLED, SHANGHAI) == PublishedAt(None, None)


NOT_UNDERSTOOD = [
    "yesterday",
    "sometime",
    "13-45",
    "2024-02-30",
    "02-30",
    "2月30日",
    "25:00",
    "12:60",
    "昨天 24:00",
    "3天后",
    "上午",
    "2025-05-12 extra",
    "2025-05-12Z",
    "Tue, 99 Jun 2025 04:00:00 GMT",
    "20250512",
    "0",
    "123456789012",  # 12 digits: neither seconds nor milliseconds
    "0001-01-01 00:00",  # before the first representable UTC instant
    "999999999999999999999天前",
    True,
    False,
    0,
    -1747024200,
    float("nan"),
    float("inf"),
    {"t": 1747024200},
    [1747024200],
    b"2025-05-12",
]


@pytest.mark.parametrize("raw", NOT_UNDERSTOOD, ids=[repr(raw) for raw in NOT_UNDERSTOOD])
def test_what_is_not_understood_is_a_problem_naming_the_raw_text(raw: object) -> None:
    got = parse_published(raw, CRAWLED, SHANGHAI)
    assert got.value is None
    assert got.problem == f"published_at {raw!r} not understood"


@pytest.mark.parametrize(
    "raw", ["2026-03-03 12:00", "2026年3月3日", "2026-03-02T03:00:01Z", 9999999999, "4102444800000"]
)
def test_more_than_a_day_ahead_of_the_crawl_is_a_problem(raw: object) -> None:
    got = parse_published(raw, CRAWLED, SHANGHAI)
    assert got.value is None
    assert got.problem is not None and repr(raw) in got.problem and "future" in got.problem
    assert "\n" not in got.problem


def test_up_to_a_day_ahead_is_allowed_for_clock_skew() -> None:
    assert parse_published("2026-03-02 09:59", CRAWLED, SHANGHAI).value == utc(2026, 3, 2, 1, 59)
    assert parse_published("2026-03-02 10:01", CRAWLED, SHANGHAI).value is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12-31 23:00", utc(2025, 12, 31, 15, 0)),
        ("12月31日 23:00", utc(2025, 12, 31, 15, 0)),
        ("01-01 08:00", utc(2026, 1, 1, 0, 0)),
        ("01-02", utc(2026, 1, 1, 16, 0)),
        ("01-03", utc(2025, 1, 2, 16, 0)),
        ("昨天 23:00", utc(2025, 12, 31, 15, 0)),
    ],
)
def test_year_rolls_back_on_new_year(raw: str, expected: datetime) -> None:
    # 2025-12-31 20:00 UTC is already 04:00 on 2026-01-01 in Shanghai: the year is Shanghai's.
    crawled = utc(2025, 12, 31, 20, 0)
    assert parse_published(raw, crawled, SHANGHAI) == PublishedAt(expected, None)


def test_february_29th_without_a_year_is_the_last_leap_day_or_a_problem() -> None:
    assert parse_published("02-29", utc(2025, 1, 10), SHANGHAI).value == utc(2024, 2, 28, 16, 0)
    assert (
        parse_published("02-29", CRAWLED, SHANGHAI).problem == "published_at '02-29' not understood"
    )


@pytest.mark.parametrize(
    ("raw", "zone", "expected"),
    [
        ("2025-05-12 12:30", "Asia/Shanghai", utc(2025, 5, 12, 4, 30)),
        ("2025-05-12 12:30", "UTC", utc(2025, 5, 12, 12, 30)),
        ("2025-05-12 12:30", "America/New_York", utc(2025, 5, 12, 16, 30)),  # EDT
        ("2025-01-12 12:30", "America/New_York", utc(2025, 1, 12, 17, 30)),  # EST
        ("昨天 12:30", "Asia/Shanghai", utc(2026, 2, 28, 4, 30)),
        # 02:00 UTC on 1 March is still 28 February in Los Angeles, so "yesterday" is the 27th.
        ("昨天 12:30", "America/Los_Angeles", utc(2026, 2, 27, 20, 30)),
        ("今天", "Asia/Tokyo", utc(2026, 2, 28, 15, 0)),
        ("今天", "Europe/London", utc(2026, 3, 1, 0, 0)),
        # an explicit offset and a Unix stamp do not depend on the profile's zone
        ("2025-05-12T12:30:00+09:00", "America/New_York", utc(2025, 5, 12, 3, 30)),
        ("1747024200", "America/New_York", utc(2025, 5, 12, 4, 30)),
        ("5分钟前", "America/New_York", utc(2026, 3, 1, 1, 55)),
    ],
)
def test_the_profile_zone_decides_naive_and_calendar_forms(
    raw: str, zone: str, expected: datetime
) -> None:
    assert parse_published(raw, CRAWLED, ZoneInfo(zone)) == PublishedAt(expected, None)


def test_days_ago_keeps_the_wall_clock_across_a_dst_change() -> None:
    # New York moved to summer time early on 2026-03-08: 14:00 EDT that day, a day back is 14:00
    # EST on the 7th, 23 hours earlier.
    crawled = utc(2026, 3, 8, 18, 0)
    york = ZoneInfo("America/New_York")
    assert parse_published("1天前", crawled, york).value == utc(2026, 3, 7, 19, 0)
    assert parse_published("24小时前", crawled, york).value == utc(2026, 3, 7, 18, 0)


def test_a_crawl_time_in_another_zone_is_the_same_instant() -> None:
    crawled = CRAWLED.astimezone(ZoneInfo("Europe/Berlin"))
    assert parse_published("昨天 12:30", crawled, SHANGHAI).value == utc(2026, 2, 28, 4, 30)


def test_a_value_that_cannot_even_be_shown_is_named_by_its_type() -> None:
    huge = 10**5000  # too many digits for str() since Python 3.11
    assert parse_published(huge, CRAWLED, SHANGHAI) == PublishedAt(
        None, "published_at <int> not understood"
    )


def test_a_long_raw_value_is_cut_in_the_problem() -> None:
    problem = parse_published("x" * 500, CRAWLED, SHANGHAI).problem
    assert problem is not None and problem.startswith("published_at 'xxx") and len(problem) < 120


def test_a_naive_crawl_time_is_the_callers_bug() -> None:
    with pytest.raises(ValueError, match="crawled_at"):
        parse_published("刚刚", datetime(2026, 3, 1, 10, 0), SHANGHAI)
