"""One typed settings object for every component.

Values come from ``YUQING_*`` environment variables and, when ``YUQING_CONFIG`` names one, a
TOML file; environment variables win. Crawlers, the Beam job, the store and the CLI all call
:func:`get_settings` instead of reading the environment themselves, so a setting has exactly one
name and one default.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_DIR = REPO_ROOT / "models" / "artifacts" / "lstm"


class Settings(BaseSettings):
    """Everything an operator may configure, with defaults that run the embedded demo."""

    model_config = SettingsConfigDict(env_prefix="YUQING_", extra="ignore")

    # Kafka
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="host:port,…")
    topic_comments: str = "comments"
    topic_dead_letters: str = "comments.dead"
    topic_partitions: int = Field(3, ge=1)
    consumer_group: str = "yuqing-pipeline"
    kafka_timeout_s: float = Field(10.0, gt=0, description="Timeout for one Kafka request.")
    kafka_retries: int = Field(5, ge=0)

    # Store
    database_url: str = Field(
        f"sqlite:///{REPO_ROOT / 'var' / 'yuqing.db'}", description="Any SQLAlchemy URL."
    )

    # Scoring
    model: Literal["lstm", "bert"] = "lstm"
    model_path: Path = DEFAULT_MODEL_DIR
    device: Literal["auto", "cpu", "cuda"] = "auto"
    alert_threshold: float = Field(0.8, ge=0.0, le=1.0, description="P(negative) that alerts.")
    batch_size: int = Field(256, ge=1, description="Comments per RunInference batch; 256 "
                            "scored a third faster than 64 on one core (docs/benchmarks.md).")

    # Text
    max_text_chars: int = Field(2000, ge=1, description="Longer comments go to dead letters.")
    keywords: list[str] = Field(default_factory=list, description="Brand/product names to watch.")
    text_cache_dir: Path = Field(
        REPO_ROOT / "var" / "cache", description="Built text resources (the corrector's LM)."
    )
    correct_text: bool = Field(True, description="Run the spelling corrector in the text stage.")

    # Crawling
    http_timeout_s: float = Field(15.0, gt=0)
    http_retries: int = Field(3, ge=0)

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("kafka_bootstrap must name at least one host:port")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("YUQING_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    @property
    def bootstrap_servers(self) -> list[str]:
        return [host.strip() for host in self.kafka_bootstrap.split(",") if host.strip()]


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests build their own ``Settings(...)`` instead."""
    return Settings()
