"""One typed settings object for every component.

Values come from, highest precedence first: keyword arguments to ``Settings(...)`` (tests and
code), ``YUQING_*`` environment variables (matched case-insensitively), the TOML file that
``YUQING_CONFIG`` names (if it names one), and the defaults below. Crawlers, the Beam job, the
store and the CLI all call :func:`get_settings` instead of reading the environment themselves, so
a setting has exactly one name and one default.

Everything the project writes lives under one data directory, ``data_dir`` (``./var`` unless
set, made absolute against the working directory): models and language models under
``artifacts_dir``, built resources under ``cache_dir``, and the SQLite database when no
``database_url`` is given. Moving that one directory moves them all.

A setting that cannot be used raises :class:`ConfigError`, whose message is one line naming the
file, variable or setting at fault; the CLI prints it and exits with status 2 rather than showing
a traceback.
"""

from __future__ import annotations

import difflib
import json
import os
import reprlib
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from pipeline.notify_settings import Notifications
from pipeline.records import Thresholds

ENV_PREFIX = "YUQING_"
CONFIG_VARIABLE = f"{ENV_PREFIX}CONFIG"
_POSTGRES_SCHEMES = ("postgres://", "postgresql://")
_POSTGRES_DRIVER_SCHEME = "postgresql+psycopg://"
# The producer's linger (pipeline.kafka); here because the delivery timeout must cover it.
PRODUCER_LINGER_MS = 5


class ConfigError(ValueError):
    """A setting the operator must fix; ``str()`` is one line that says which and where."""


class Settings(BaseSettings):
    """Everything an operator may configure, with defaults that run the embedded demo."""

    # extra="forbid": a misspelt setting fails loudly instead of silently keeping its default.
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    # Paths
    data_dir: Path = Field(
        Path("var"), description="The one data directory; every other path derives from it."
    )

    # Kafka
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="host:port,…")
    topic_comments: str = "comments"
    topic_dead_letters: str = "comments.dead"
    topic_partitions: int = Field(3, ge=1)
    consumer_group: str = Field(
        "yuqing-pipeline",
        description="Kafka consumer group; a new name re-reads the topics from the beginning.",
    )
    kafka_timeout_s: float = Field(10.0, gt=0, description="Timeout for one Kafka request.")
    kafka_retries: int = Field(
        5, ge=1, description="Retries of a failed produce request; the idempotent producer needs "
        "at least one.")
    kafka_delivery_timeout_s: float = Field(
        120.0, gt=0,
        description="How long a produced message may take to be acknowledged, retries included, "
        "before it is reported as not delivered; Kafka's own default.",
    )

    # Store
    database_url: str = Field(
        "", description="Any SQLAlchemy URL; empty: sqlite:///{data_dir}/yuqing.db."
    )
    store_retry_max_s: float = Field(
        300.0, ge=0,
        description="How long the job waits out an unreachable store, its offsets uncommitted, "
        "before failing; a database fail-over takes 30-60 s.",
    )
    store_retry_backoff_max_s: float = Field(
        10.0, gt=0, description="Longest pause between write attempts while the store is down."
    )

    # Scoring
    model: str = Field("lstm", description="A scorer name (lstm, bert) or module:Class.")
    model_path: Path | None = Field(None, description="None: the scorer's own default artifact.")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    alert_threshold: float = Field(
        0.7, ge=0.0, le=1.0,
        description="P(negative) that alerts. 0.7 is the shipped lstm-1.3.0's suggested threshold "
        "on the dev-domains set (0.6885, rounded), the best F0.5 of its alerts; for another "
        "model, `yuqing eval sentiment --set dev-domains` suggests its own.")
    source_thresholds: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default_factory=dict,
        description="Alert thresholds for single sources, overriding alert_threshold: a TOML "
        "table or a JSON object, e.g. {\"weibo\": 0.9}.")
    batch_size: int = Field(256, ge=1, description="Comments per RunInference batch; 256 "
                            "scored a third faster than 64 on one core (docs/benchmarks.md).")
    progress_interval_s: float = Field(
        60.0, gt=0, description="How often the running job logs a progress line."
    )

    # Text
    max_text_chars: int = Field(2000, ge=1, description="Longer comments go to dead letters.")
    keywords: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Brand/product names to watch."
    )
    correct_text: bool = Field(True, description="Run the spelling corrector in the text stage.")
    corrector_lm: Path | None = Field(
        None,
        description="The corrector's language-model artifact directory; "
        "None: the default under artifacts_dir.",
    )

    # Surges (pipeline.stream.surges; docs/surges.md)
    surge_window_s: int = Field(
        600, ge=60, description="Negatives are counted per window of this many seconds, per "
        "keyword and per source, by when the job received them.")
    surge_alpha: float = Field(
        0.1, gt=0, le=1, description="Weight of the newest window in the baseline's moving "
        "mean and spread (EWMA): 0.1 remembers about the last 10 windows.")
    surge_factor: float = Field(
        3.0, gt=0, description="A window surges when its count exceeds the baseline mean by "
        "this many spreads (standard deviations, at least 1).")
    surge_min_count: int = Field(
        5, ge=1, description="Fewer negatives than this in a window are never a surge, "
        "whatever the baseline.")
    surge_warmup_windows: int = Field(
        6, ge=0, description="Windows a subject's baseline must have seen before it can surge; "
        "a new keyword or source learns its normal level first.")
    surge_max_age_s: int = Field(
        3600, gt=0, description="A negative written longer ago than this when the job received "
        "it (a backfill, a crawl catching up) is history, not a surge, and is not counted.")

    # Crawling
    http_timeout_s: float = Field(15.0, gt=0)
    http_retries: int = Field(3, ge=0)
    profiles_dir: Path | None = Field(
        None, description="The site profiles (TOML/YAML) `yuqing schedule` and `yuqing "
        "sources` read; None: profiles/ under data_dir.")
    crawl_timeout_s: float = Field(
        3600.0, gt=0, description="`yuqing schedule` stops a crawl that runs longer (SIGTERM, "
        "then SIGKILL 30 s later); the next crawl resumes where it stopped.")
    crawl_workers: int = Field(
        4, ge=1, description="How many profiles `yuqing schedule` crawls at once (one crawl "
        "per profile at a time, each in its own process).")

    # Notifications
    notifications: Notifications = Field(
        default_factory=Notifications,
        description="Channels and the rules that route alerts to them (docs/notifications.md); "
        "set in the config file's [notifications] table.")

    def __init__(self, **values: Any) -> None:
        """Turn pydantic's multi-line report into the one line the CLI shows the operator."""
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise ConfigError(_describe(error, values)) from None

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        """Pin the directory now, so a later chdir (Beam workers, tests) cannot move the data."""
        return value.expanduser().resolve()

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("kafka_bootstrap must name at least one host:port")
        return value

    @field_validator("kafka_delivery_timeout_s")
    @classmethod
    def _delivery_outlasts_a_request(cls, value: float, info: ValidationInfo) -> float:
        """kafka-python refuses a delivery timeout shorter than one request plus the linger,
        compared in the whole milliseconds :func:`pipeline.kafka.make_producer` passes it."""
        timeout_s = info.data.get("kafka_timeout_s")
        if timeout_s is not None and (int(value * 1000)
                                      < int(timeout_s * 1000) + PRODUCER_LINGER_MS):
            raise ValueError(f"must be at least kafka_timeout_s ({timeout_s:g}) plus the "
                             f"producer's {PRODUCER_LINGER_MS} ms linger")
        return value

    @field_validator("database_url")
    @classmethod
    def _psycopg_driver(cls, value: str) -> str:
        """Hosting providers hand out ``postgres://`` URLs, which SQLAlchemy would open with
        psycopg2; psycopg 3 is the driver this project installs."""
        for scheme in _POSTGRES_SCHEMES:
            if value.startswith(scheme):
                return _POSTGRES_DRIVER_SCHEME + value.removeprefix(scheme)
        return value

    @field_validator("keywords", mode="before")
    @classmethod
    def _split_keywords(cls, value: object) -> object:
        """Operators write ``YUQING_KEYWORDS=京东,携程``; a JSON list still works for names that
        contain commas."""
        if not isinstance(value, str):
            return value
        if value.lstrip().startswith("["):
            return json.loads(value)
        return value.split(",")

    @field_validator("keywords")
    @classmethod
    def _strip_keywords(cls, value: list[str]) -> list[str]:
        """A stray space or trailing comma must not become a keyword that matches everything."""
        return [keyword.strip() for keyword in value if keyword.strip()]

    @model_validator(mode="after")
    def _default_database(self) -> Self:
        """The default database follows ``data_dir``, so it is known only after validation."""
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'yuqing.db'}"
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init kwargs > environment > TOML file; no dotenv or secrets directory."""
        variables = _yuqing_variables()
        _reject_unknown_variables(variables, settings_cls.model_fields)
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = _config_file(variables)
        if config_file is not None:
            sources.append(TomlFileSource(settings_cls, config_file))
        return tuple(sources)

    @property
    def bootstrap_servers(self) -> list[str]:
        return [host.strip() for host in self.kafka_bootstrap.split(",") if host.strip()]

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(self.alert_threshold, dict(self.source_thresholds))

    @property
    def artifacts_dir(self) -> Path:
        """Trained models and the corrector's language model."""
        return self.data_dir / "artifacts"

    @property
    def profiles_path(self) -> Path:
        """Where the site profiles are."""
        return self.profiles_dir or self.data_dir / "profiles"

    @property
    def cache_dir(self) -> Path:
        """Resources rebuilt on demand; safe to delete."""
        return self.data_dir / "cache"


class TomlFileSource(PydanticBaseSettingsSource):
    """The ``YUQING_CONFIG`` file, read with :mod:`tomllib` so a broken or missing file is reported
    by name instead of being skipped (pydantic-settings' own TOML source ignores a missing file).
    """

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        super().__init__(settings_cls)
        self.values = _read_toml(path)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        # Unknown keys pass through on purpose: extra="forbid" rejects them and _describe()
        # names the file and the nearest valid key.
        return dict(self.values)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests build their own ``Settings(...)`` instead."""
    return Settings()


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the {CONFIG_VARIABLE} file: "
                          f"{error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text (byte {error.start})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None


def _yuqing_variables() -> dict[str, str]:
    """Map each ``YUQING_*`` variable's lower-case setting name to the variable as spelt, matching
    case-insensitively as pydantic-settings does."""
    return {
        name[len(ENV_PREFIX):].lower(): name
        for name in os.environ
        if name.upper().startswith(ENV_PREFIX)
    }


def _config_file(variables: dict[str, str]) -> Path | None:
    name = variables.get(CONFIG_VARIABLE.removeprefix(ENV_PREFIX).lower())
    value = os.environ[name] if name else ""
    return Path(value) if value else None


def _reject_unknown_variables(variables: dict[str, str], fields: dict[str, FieldInfo]) -> None:
    """pydantic-settings reads only the variables it expects, so a misspelt one would be ignored
    and its setting silently keep the default."""
    allowed = [*fields, CONFIG_VARIABLE.removeprefix(ENV_PREFIX).lower()]
    for key, name in sorted(variables.items()):
        if key not in allowed:
            suggestion = _nearest(key, allowed)
            hint = f" (did you mean {ENV_PREFIX}{suggestion.upper()}?)" if suggestion else ""
            raise ConfigError(f"unknown environment variable {name}{hint}")


def _nearest(key: str, candidates: list[str]) -> str | None:
    matches = difflib.get_close_matches(key, candidates, n=1)
    return matches[0] if matches else None


def _describe(error: ValidationError, init_values: dict[str, Any]) -> str:
    """All of pydantic's complaints on one line, each prefixed with where the value came from."""
    return "; ".join(_describe_one(detail, init_values) for detail in error.errors())


def _describe_one(detail: ErrorDetails, init_values: dict[str, Any]) -> str:
    if not detail["loc"]:
        return detail["msg"]
    key = str(detail["loc"][0])
    setting = ".".join(str(part) for part in detail["loc"])
    origin = _origin(key, init_values)
    prefix = f"{origin}: " if origin else ""
    if detail["type"] == "extra_forbidden":
        suggestion = _nearest(key, list(Settings.model_fields))
        hint = f" (did you mean '{suggestion}'?)" if suggestion else ""
        return f"{prefix}unknown setting '{key}'{hint}"
    return f"{prefix}invalid value {reprlib.repr(detail['input'])} for {setting}: {detail['msg']}"


def _origin(key: str, init_values: dict[str, Any]) -> str | None:
    """Where a rejected value came from, by precedence; None when code passed it."""
    if key in init_values:
        return None
    variables = _yuqing_variables()
    if key in variables:
        return f"environment variable {variables[key]}"
    config_file = _config_file(variables)
    return str(config_file) if config_file else None
