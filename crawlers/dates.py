"""Published times as Chinese sites show them, read into UTC instants for the profile crawlers.

A profile points at a date field and names the site's time zone; what the field holds ranges from
"3分钟前" and "昨天 12:30" through "05-12" to ISO strings, Unix stamps and RSS dates. A date that
cannot be read must become a reason (for the dead-letter trail), never a crash and never a guess,
so every form below is matched whole by an anchored pattern and anything else is refused.

Why not dateparser (1.5.0, tried with RELATIVE_BASE, TIMEZONE and TO_TIMEZONE): with
languages=["zh"] it reads "05-12" as 2005-12-01 and "03-03" as 2003-03-01, and "3月5日" not at all;
without a language list "05-12" lands in May of the crawl year (months ahead, no year rule),
"13-45" becomes a day in 2045 and "yesterday" parses, while RSS dates need English enabled. It
also brings pytz, tzlocal and regex and spends ~0.3 s on its first call. The forms sites use are
few and regular, so this module is a handful of anchored regexes on the standard library.

Choices the contract left open, and why:
- A day without a clock time ("昨天", "05-12", "2025-05-12") is midnight starting that day in the
  profile's zone: the same text crawled twice then gives the same instant, and a bare day never
  lands after the real publication.
- "HH:MM" alone is today in the profile's zone even when later than the crawl; the one-day
  allowance for clock skew then accepts it, as the contract asks.
- "N天前"/"N周前" step back in wall-clock days in the profile's zone (same clock time N days
  earlier, even across a DST change); seconds, minutes and hours step back in real time.
- Unix numbers, given as int, float or digit string: 1e9 <= n < 1e11 are seconds and
  1e12 <= n < 1e14 milliseconds (each range starts in 2001), so 10 digits read as seconds and 13
  as milliseconds. Anything else (0, a placeholder, "20250512") is refused rather than read as 1970.
- An RFC 2822 date without a zone, or with "-0000", is UTC, as that RFC says of "-0000".
- Full-width digits, colons and spaces are folded (NFKC) first; some sites type them.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

# Clock skew and sites that stamp in a zone other than the profile's.
FUTURE_ALLOWANCE = timedelta(days=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PublishedAt:
    """What a site's date field said, as an instant, or why not."""

    value: datetime | None  # aware, in UTC; None when absent or not understood
    problem: str | None  # None when parsed or absent; else a one-line reason naming the raw text


def parse_published(raw: object, crawled_at: datetime, tz: ZoneInfo) -> PublishedAt:
    """Never raises for anything a site sent: a bad value is reported in ``problem``.

    A naive ``crawled_at`` is the caller's bug, not the site's, so it raises ValueError.
    """
    if crawled_at.utcoffset() is None:
        raise ValueError(f"crawled_at must be aware, got {crawled_at!r}")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return PublishedAt(None, None)
    try:
        value = _instant(raw, crawled_at.astimezone(tz))
        value = value.astimezone(UTC) if value is not None else None
    except (ValueError, OverflowError, TypeError):  # out-of-range fields, years past 9999
        value = None
    if value is None:
        return PublishedAt(None, f"published_at {_shown(raw)} not understood")
    if value > crawled_at + FUTURE_ALLOWANCE:
        return PublishedAt(
            None,
            f"published_at {_shown(raw)} is in the future: {value.isoformat()} is more than a day"
            f" after the crawl at {crawled_at.astimezone(UTC).isoformat()}",
        )
    return PublishedAt(value, None)


def _shown(raw: object) -> str:
    try:
        text = repr(raw)
    except Exception:  # an int too long for str(), a foreign object's broken __repr__
        text = f"<{type(raw).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


def _instant(raw: object, now: datetime) -> datetime | None:
    """``now`` is the crawl time in the profile's zone; naive results never leave here."""
    if isinstance(raw, bool):  # an int subclass, but True is no timestamp
        return None
    if isinstance(raw, datetime):
        return raw if raw.utcoffset() is not None else raw.replace(tzinfo=now.tzinfo)
    if isinstance(raw, date):
        return datetime.combine(raw, time(), tzinfo=now.tzinfo)
    if isinstance(raw, int | float):
        return _from_unix(raw)
    if isinstance(raw, str):
        text = unicodedata.normalize("NFKC", raw).strip()
        for pattern, build in _FORMS:
            match = pattern.fullmatch(text)
            if match:
                return build(match, now)
    return None


def _from_unix(n: float) -> datetime | None:
    if isinstance(n, float) and not math.isfinite(n):
        return None
    if 1e9 <= n < 1e11:
        return EPOCH + timedelta(seconds=n)
    if 1e12 <= n < 1e14:
        return EPOCH + timedelta(milliseconds=n)
    return None


def _clock(match: re.Match[str]) -> time:
    """Midnight when the form left the time out (see the module docstring)."""
    hour, minute, second = match.group("h", "m", "s")
    if hour is None:
        return time()
    return time(int(hour), int(minute), int(second or 0))


def _on(day: date, match: re.Match[str], now: datetime) -> datetime:
    return datetime.combine(day, _clock(match), tzinfo=now.tzinfo)


def _just_now(match: re.Match[str], now: datetime) -> datetime:
    return now


def _half_hour_ago(match: re.Match[str], now: datetime) -> datetime:
    return now.astimezone(UTC) - timedelta(minutes=30)


_AGO_UNITS = {
    "秒": timedelta(seconds=1),
    "秒钟": timedelta(seconds=1),
    "分": timedelta(minutes=1),
    "分钟": timedelta(minutes=1),
    "小时": timedelta(hours=1),
    "钟头": timedelta(hours=1),
    "天": timedelta(days=1),
    "日": timedelta(days=1),
    "周": timedelta(weeks=1),
    "星期": timedelta(weeks=1),
}
_CALENDAR_UNITS = {"天", "日", "周", "星期"}


def _ago(match: re.Match[str], now: datetime) -> datetime:
    step = _AGO_UNITS[match["unit"]] * int(match["n"])
    if match["unit"] in _CALENDAR_UNITS:  # same-zone arithmetic is wall-clock arithmetic
        return now - step
    return now.astimezone(UTC) - step


_DAYS_BACK = {"今天": 0, "昨天": 1, "前天": 2}


def _named_day(match: re.Match[str], now: datetime) -> datetime:
    return _on(now.date() - timedelta(days=_DAYS_BACK[match["word"]]), match, now)


def _today(match: re.Match[str], now: datetime) -> datetime:
    return _on(now.date(), match, now)


def _yearless(match: re.Match[str], now: datetime) -> datetime | None:
    """Sites drop the year for recent posts: the crawl year, unless that is too far ahead."""
    month, day = int(match["month"]), int(match["day"])
    for year in (now.year, now.year - 1):
        try:
            candidate = _on(date(year, month, day), match, now)
        except ValueError:  # 02-29 outside a leap year
            continue
        if candidate.astimezone(UTC) <= now.astimezone(UTC) + FUTURE_ALLOWANCE:
            return candidate
    return None


def _full(match: re.Match[str], now: datetime) -> datetime:
    moment = _on(date(int(match["year"]), int(match["month"]), int(match["day"])), match, now)
    fraction, offset = match.groupdict().get("frac"), match.groupdict().get("offset")
    if fraction:
        moment = moment.replace(microsecond=int(fraction[:6].ljust(6, "0")))
    if offset == "Z":
        return moment.replace(tzinfo=UTC)
    if offset:
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        shift = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        return moment.replace(tzinfo=timezone(sign * shift))
    return moment


def _rfc2822(match: re.Match[str], now: datetime) -> datetime:
    moment = parsedate_to_datetime(match.string)
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)


def _unix_text(match: re.Match[str], now: datetime) -> datetime | None:
    text = match.string
    return _from_unix(float(text) if "." in text else int(text))


_TIME = r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?"
_DATE_ISO = r"(?P<year>\d{4})(?P<sep>[-/])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})"
_ISO_TIME = r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.(?P<frac>\d{1,9}))?)?"
_OFFSET = r"(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)"

_FORMS: list[tuple[re.Pattern[str], Callable[[re.Match[str], datetime], datetime | None]]] = [
    (re.compile(r"刚刚"), _just_now),
    (re.compile(r"半\s*个?\s*小时\s*前"), _half_hour_ago),
    (re.compile(r"(?P<n>\d+)\s*个?\s*(?P<unit>秒钟?|分钟?|小时|钟头|天|日|周|星期)\s*前"), _ago),
    (re.compile(rf"(?P<word>今天|昨天|前天)(?:\s*{_TIME})?"), _named_day),
    (re.compile(_TIME), _today),
    (re.compile(rf"(?P<month>\d{{1,2}})-(?P<day>\d{{1,2}})(?:\s+{_TIME})?"), _yearless),
    (re.compile(rf"(?P<month>\d{{1,2}})月(?P<day>\d{{1,2}})日(?:\s*{_TIME})?"), _yearless),
    (
        re.compile(
            rf"(?P<year>\d{{4}})年(?P<month>\d{{1,2}})月(?P<day>\d{{1,2}})日(?:\s*{_TIME})?"
        ),
        _full,
    ),
    (re.compile(rf"{_DATE_ISO}(?:(?:T|\s+){_ISO_TIME}(?:\s*{_OFFSET})?)?"), _full),
    (re.compile(r"\d+(?:\.\d+)?"), _unix_text),
    (
        re.compile(r"(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}.*"),
        _rfc2822,
    ),
]
