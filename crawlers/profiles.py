"""Site profiles: a source described in a TOML or YAML file rather than in Python.

An operator adds a source by writing a profile, and the generic spiders read it: where to start
(URLs, or a URL template filled with each brand keyword or product id), how to find each field
(CSS or XPath for HTML listings, JMESPath for JSON APIs, nothing for RSS/Atom feeds), how to page,
what to send (headers, and cookies whose values come from the environment or a secret file,
never from the profile), how politely, on what schedule, how to recognise what is new, what a ban
looks like, and how long the source may stay silent before that is a crawl-health alert.

A profile is validated in full when it is loaded, and every problem is reported with the file,
the key and, where the file shows it, the line: ``profiles/weibo.yaml:12: paging.param: field
required``. A typo therefore fails at ``yuqing sources`` or at the scheduler's start, not as an
empty crawl at three in the morning; unknown keys are errors for the same reason.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jmespath
import yaml
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from parsel import Selector
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from pipeline.errors import OperatorError

PROFILE_SUFFIXES = (".toml", ".yaml", ".yml")
# The fields a comment item has (crawlers.items.CommentItem) that a profile maps; ``text`` is the
# only one a profile must map.
MAPPED_FIELDS = ("text", "native_id", "author", "published_at", "url")

SourceId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def _duration(value: object) -> object:
    """``90s``, ``5m``, ``1h30m``, ``2d`` as operators write them; numbers are seconds; anything
    else goes on to pydantic (ISO 8601 ``PT5M``, or its error)."""
    if isinstance(value, str) and (match := _DURATION.match(value.strip())) and value.strip():
        days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class ProfileError(OperatorError, ValueError):
    """A profile that cannot be used; the message names the file, and the key and line of each
    problem."""


class Kind(StrEnum):
    HTML = "html"
    JSON = "json"
    RSS = "rss"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Secret(_Strict):
    """Where a header's or cookie's value comes from: a variable, or a file (mounted secrets)."""

    env: str | None = None
    file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _not_the_value(cls, data: object) -> object:
        if not isinstance(data, Mapping):
            raise ValueError("a secret is {env: NAME} or {file: PATH}: its value never goes in "
                             "the profile")
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of env or file")
        return self

    def read(self) -> str:
        """The value, read at crawl time so that a rotated secret is picked up by the next crawl."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise ProfileError(f"the environment variable {self.env} is not set")
            return value
        assert self.file is not None
        try:
            return self.file.read_text().strip()
        except OSError as error:
            raise ProfileError(f"cannot read the secret file {self.file}: "
                               f"{error.strerror}") from None


class Schedule(_Strict):
    """When the scheduler runs the profile: every interval, or on a cron expression; jitter
    spreads profiles that share a schedule so they do not all hit the network at once."""

    every: Duration | None = None
    cron: str | None = None
    jitter: Duration = timedelta(0)

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.every is None) == (self.cron is None):
            raise ValueError("give exactly one of every or cron")
        if self.every is not None and self.every < timedelta(seconds=1):
            raise ValueError("every must be at least 1 second")
        if self.cron is not None:
            if len(self.cron.split()) != 5:
                raise ValueError(f"cron {self.cron!r} must have 5 fields: minute hour day "
                                 "month weekday")
            try:
                self.trigger(ZoneInfo("UTC"))
            except ValueError as error:
                raise ValueError(f"cron {self.cron!r}: {error}") from None
        return self

    def trigger(self, zone: ZoneInfo) -> BaseTrigger:
        """The scheduler's trigger; a cron expression is read in the profile's time zone."""
        jitter = int(self.jitter.total_seconds()) or None
        if self.every is not None:
            return IntervalTrigger(seconds=self.every.total_seconds(), jitter=jitter)
        minute, hour, day, month, weekday = (self.cron or "").split()
        return CronTrigger(minute=minute, hour=hour, day=day, month=month,
                           day_of_week=_crontab_weekdays(weekday), timezone=zone, jitter=jitter)


_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _crontab_weekdays(field: str) -> str:
    """A crontab weekday field as APScheduler 3 reads it: its numbers start at Monday, cron's
    at Sunday (0 and 7), so numbers become day names; names mean the same to both."""
    if field == "*":
        return field
    days = []
    for part in field.split(","):
        if re.search(r"[a-z]", part, re.IGNORECASE):
            days.append(part.lower())
            continue
        span, _, step = part.partition("/")
        first, _, last = ("0-6" if span == "*" else span).partition("-")
        days += [_WEEKDAYS[day % 7]
                 for day in range(int(first), int(last or first) + 1, int(step or 1))]
    return ",".join(dict.fromkeys(days))


class Politeness(_Strict):
    """How hard a crawl may press the site. ``delay_s`` is the delay between requests that a
    crawl starts with and never goes below; Scrapy's AutoThrottle raises it while the site
    answers slowly."""

    delay_s: float = Field(default=1.0, ge=0)
    concurrency: int = Field(default=2, ge=1, le=32)
    robots_txt: bool = True


class Paging(_Strict):
    """How the next page is asked for.

    - ``none``: the start URLs are all there is.
    - ``next_link``: (HTML) follow the link ``next`` selects, until there is none.
    - ``page`` / ``offset``: add ``param`` = start, start+1 … (``page``) or 0, size, 2·size …
      (``offset``) until a page has no items.
    - ``cursor``: send ``param`` = the value ``next`` selects in the response, until it is empty.
    - ``since_id`` / ``max_id`` style: ``cursor`` with ``next`` selecting the oldest id on the
      page, and ``since_param`` naming the parameter that asks only for what is newer than an
      id: each start URL's newest comment delivered (``native_id``, kept in the crawl state) is
      sent with it, so a crawl of an unchanged source reads one empty page. Edits of older
      comments are then not seen; leave ``since_param`` out to re-read the first
      ``new_items.recrawl_pages`` pages instead.
    """

    kind: Literal["none", "next_link", "page", "offset", "cursor"] = "none"
    next: str | None = None
    param: str | None = None
    start: int = 1
    size_param: str | None = None
    size: int = Field(default=20, ge=1)
    since_param: str | None = None
    max_pages: int = Field(default=50, ge=1)

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.kind in ("next_link", "cursor") and not self.next:
            raise ValueError(f"paging kind {self.kind} needs next (what selects the next "
                             f"{'link' if self.kind == 'next_link' else 'cursor'})")
        if self.kind in ("page", "offset", "cursor") and not self.param:
            raise ValueError(f"paging kind {self.kind} needs param (the query parameter)")
        return self


class Listing(_Strict):
    """For HTML sites whose comments sit on pages linked from an index, as a forum's threads
    hang off its board: the start URLs are index pages, ``links`` selects the pages to crawl
    (each then paged by ``paging``), and ``next`` the index's own next page."""

    links: str
    next: str | None = None
    max_pages: int = Field(default=5, ge=1)


class Fields(_Strict):
    """Where each field of a comment is: ``items`` selects the comments on a page, the others
    are relative to one comment. CSS or XPath (``selectors``) for HTML, JMESPath for JSON; RSS
    needs none (the feed parser knows the fields) but may override ``text`` with an entry key."""

    items: str | None = None
    text: str | None = None
    native_id: str | None = None
    author: str | None = None
    published_at: str | None = None
    url: str | None = None


class NewItems(_Strict):
    """How a scheduled crawl recognises what it has seen: it remembers the newest ``seen_ids``
    native ids (or text hashes) and stops paging at a page made only of known items, after
    ``recrawl_pages`` pages, which catch edits of recent comments."""

    stop_at_known: bool = True
    seen_ids: int = Field(default=5000, ge=100)
    recrawl_pages: int = Field(default=1, ge=0)


class BanRules(_Strict):
    """What says the site refused us rather than failed: statuses, and page text such as a
    captcha or a login wall served with 200."""

    statuses: list[int] = [403, 429]
    # Phrases of a wall, not words a comment might use ("验证码" alone would match reviews).
    body_patterns: list[str] = ["安全验证", "请输入验证码", "请先登录", "captcha"]


class Freshness(_Strict):
    """When silence or errors become a crawl-health alert."""

    max_silence: Duration = timedelta(hours=24)
    max_error_rate: float = Field(default=0.5, gt=0, le=1)


class Profile(_Strict):
    id: SourceId
    kind: Kind
    start_urls: list[str] = []
    url_template: str | None = None
    keywords: list[str] = []
    selectors: Literal["css", "xpath"] = "css"
    fields: Fields = Fields()
    listing: Listing | None = None
    paging: Paging = Paging()
    headers: dict[str, str] = {}
    secret_headers: dict[str, Secret] = {}
    cookies: dict[str, Secret] = {}
    timezone: str = "Asia/Shanghai"
    schedule: Schedule
    politeness: Politeness = Politeness()
    new_items: NewItems = NewItems()
    ban: BanRules = BanRules()
    freshness: Freshness = Freshness()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as "
                             "Asia/Shanghai)") from None
        return value

    @field_validator("start_urls")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not re.match(r"^https?://", url):
                raise ValueError(f"{url!r} is not an http(s) URL")
        return urls

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if bool(self.start_urls) == bool(self.url_template):
            raise ValueError("give exactly one of start_urls or url_template")
        if self.url_template:
            if "{keyword}" not in self.url_template:
                raise ValueError("url_template must contain {keyword}")
            if not self.keywords:
                raise ValueError("url_template needs keywords to fill {keyword} with")
        if self.kind is not Kind.RSS:
            if not (self.fields.items and self.fields.text):
                raise ValueError(f"a {self.kind} profile needs fields.items and fields.text")
            if self.kind is Kind.JSON and self.paging.kind == "next_link":
                raise ValueError("paging kind next_link is for HTML; a JSON API pages by "
                                 "page, offset or cursor")
        if self.listing and self.kind is not Kind.HTML:
            raise ValueError("listing is for HTML sites (index pages linking to comment pages)")
        if self.kind is not Kind.RSS:
            self._compile_selectors()
        return self

    def _compile_selectors(self) -> None:
        """Every selector parses now, so a typo is a load error, not an empty crawl."""
        expressions = [(f"fields.{name}", getattr(self.fields, name))
                       for name in ("items", *MAPPED_FIELDS)]
        if self.paging.next:
            expressions.append(("paging.next", self.paging.next))
        if self.listing:
            expressions += [("listing.links", self.listing.links),
                            ("listing.next", self.listing.next)]
        for key, expression in expressions:
            if expression is None:
                continue
            try:
                if self.kind is Kind.JSON:
                    jmespath.compile(expression)
                elif self.selectors == "css":
                    Selector(text="<p/>").css(expression)
                else:
                    Selector(text="<p/>").xpath(expression)
            except Exception as error:  # each library has its own syntax error types
                kind = "JMESPath" if self.kind is Kind.JSON else self.selectors.upper()
                raise ValueError(f"{key}: not a valid {kind} expression {expression!r}: "
                                 f"{str(error).splitlines()[0]}") from None

    def check_secrets(self) -> None:
        """Reads every header and cookie secret once, so that an unset variable or an unreadable
        file stops the crawl before it starts, in one line, rather than failing every request."""
        for name, secret in {**self.secret_headers, **self.cookies}.items():
            try:
                secret.read()
            except ProfileError as error:
                raise ProfileError(f"profile {self.id}: {name}: {error}") from None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def urls(self) -> list[str]:
        """The start URLs, or the template filled with each keyword (URL-quoted)."""
        if self.start_urls:
            return list(self.start_urls)
        template = self.url_template or ""
        return [template.replace("{keyword}", quote(keyword, safe=""))
                for keyword in self.keywords]


def load_profile(path: Path) -> Profile:
    """The profile in ``path``, or :class:`ProfileError` listing every problem with its line."""
    text = _read(path)
    if path.suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ProfileError(f"{path}: not valid TOML: {error}") from None
        lines = _toml_lines(text)
    else:
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ProfileError(f"{path}: not valid YAML: {_one_line(str(error))}") from None
        lines = _yaml_lines(node)
    if not isinstance(data, Mapping):
        raise ProfileError(f"{path}: a profile is a table of keys (id, kind, schedule, …)")
    try:
        return Profile.model_validate(data)
    except ValidationError as error:
        raise ProfileError("; ".join(_problems(path, error, lines))) from None


def load_profiles(directory: Path) -> list[Profile]:
    """Every profile in ``directory`` (see :func:`load_profile_files`)."""
    return list(load_profile_files(directory).values())


def load_profile_files(directory: Path) -> dict[Path, Profile]:
    """Every profile in ``directory`` by its file; all files' problems are reported together,
    and two files with the same id are an error (the id keys the crawl state)."""
    if not directory.is_dir():
        raise ProfileError(f"{directory}: no such directory of profiles")
    profiles, problems, seen = dict[Path, Profile](), [], dict[str, Path]()
    for path in sorted(p for p in directory.iterdir() if p.suffix in PROFILE_SUFFIXES):
        try:
            profile = load_profile(path)
        except ProfileError as error:
            problems.append(str(error))
            continue
        if profile.id in seen:
            problems.append(f"{path}: id {profile.id!r} is already used by {seen[profile.id]}")
            continue
        seen[profile.id] = path
        profiles[path] = profile
    if problems:
        raise ProfileError("\n".join(problems))
    return profiles


def _read(path: Path) -> str:
    if path.suffix not in PROFILE_SUFFIXES:
        raise ProfileError(f"{path}: a profile is a .toml, .yaml or .yml file")
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise ProfileError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ProfileError(f"{path}: not UTF-8 text") from None


def _problems(path: Path, error: ValidationError, lines: Mapping[tuple[str, ...], int]
              ) -> Iterable[str]:
    for problem in error.errors():
        key = tuple(str(part) for part in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown key (a typo?)"
        # A check across keys names the key it is about at the start of its message.
        if not key and (named := _NAMED_KEY.match(message)):
            key, message = tuple(named[1].split(".")), named[2]
        line = _nearest_line(key, lines)
        where = f"{path}:{line}" if line else str(path)
        name = ".".join(key) or "(profile)"
        yield f"{where}: {name}: {message}"


_NAMED_KEY = re.compile(r"^([a-z_]+(?:\.[a-z_]+)+): (.*)$")


def _nearest_line(key: tuple[str, ...], lines: Mapping[tuple[str, ...], int]) -> int | None:
    """The line of the key, or of the nearest enclosing key that the file has (a missing key
    is reported at its table)."""
    for end in range(len(key), 0, -1):
        if key[:end] in lines:
            return lines[key[:end]]
    return None


def _yaml_lines(node: yaml.Node | None, prefix: tuple[str, ...] = ()
                ) -> dict[tuple[str, ...], int]:
    lines: dict[tuple[str, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*prefix, str(key_node.value))
            lines[key] = key_node.start_mark.line + 1
            lines.update(_yaml_lines(value_node, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            key = (*prefix, str(index))
            lines[key] = item.start_mark.line + 1
            lines.update(_yaml_lines(item, key))
    return lines


_TOML_TABLE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_TOML_KEY = re.compile(r"^\s*([A-Za-z0-9_.\"' -]+?)\s*=")


def _toml_lines(text: str) -> dict[tuple[str, ...], int]:
    """Lines of tables and keys: tomllib keeps no positions, and TOML's grammar makes a line scan
    enough for the ``[table]`` and ``key = value`` lines a profile has (inline tables and arrays
    of tables are reported at their enclosing key)."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        if header := _TOML_TABLE.match(line):
            table = _dotted(header[1])
            lines.setdefault(table, number)
        elif assignment := _TOML_KEY.match(line):
            lines.setdefault((*table, *_dotted(assignment[1])), number)
    return lines


def _dotted(key: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in key.split("."))


def _one_line(text: str) -> str:
    return " ".join(text.split())

