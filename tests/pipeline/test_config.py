"""Settings sources, precedence, derived paths, and the one-line errors an operator sees."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.config import ConfigError, Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test starts from defaults in an empty working directory, whatever the shell set."""
    for name in list(os.environ):
        if name.upper().startswith("YUQING_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def write_config(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "yuqing.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("YUQING_CONFIG", str(path))
    return path


def config_error(**values: object) -> str:
    with pytest.raises(ConfigError) as raised:
        Settings(**values)
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_missing_config_file_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUQING_CONFIG", "/missing.toml")
    message = config_error()
    assert message.startswith("/missing.toml: ")
    assert "No such file" in message


def test_misspelt_file_key_names_file_key_and_suggestion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, "alert_treshold = 0.5\n", monkeypatch)
    assert config_error() == (
        f"{path}: unknown setting 'alert_treshold' (did you mean 'alert_threshold'?)"
    )


def test_misspelt_environment_variable_names_variable_and_suggestion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("YUQING_ALERT_TRESHOLD", "0.5")
    assert config_error() == (
        "unknown environment variable YUQING_ALERT_TRESHOLD (did you mean YUQING_ALERT_THRESHOLD?)"
    )


def test_environment_variables_match_case_insensitively(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("yuqing_alert_threshold", "0.5")
    assert Settings().alert_threshold == 0.5


def test_other_environment_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERT_THRESHOLD", "2")
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "")
    assert Settings().alert_threshold == 0.7


def test_broken_toml_names_file_line_and_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, "batch_size = 64\nalert_threshold = \n", monkeypatch)
    message = config_error()
    assert message.startswith(f"{path}: ")
    assert "line 2, column" in message


def test_invalid_file_value_names_file_setting_and_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, "alert_threshold = 2\n", monkeypatch)
    message = config_error()
    assert message.startswith(f"{path}: ")
    assert "alert_threshold" in message
    assert "less than or equal to 1" in message


def test_invalid_environment_value_names_variable_and_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("YUQING_TOPIC_PARTITIONS", "abc")
    message = config_error()
    assert "YUQING_TOPIC_PARTITIONS" in message
    assert "'abc'" in message
    assert "valid integer" in message


def test_unknown_keyword_argument_fails() -> None:
    assert config_error(alert_treshold=0.5) == (
        "unknown setting 'alert_treshold' (did you mean 'alert_threshold'?)"
    )


def test_keywords_from_comma_separated_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUQING_KEYWORDS", " 京东, 携程 ,")
    assert Settings().keywords == ["京东", "携程"]


def test_keywords_from_json_list_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUQING_KEYWORDS", '["京东", "携程"]')
    assert Settings().keywords == ["京东", "携程"]


def test_keywords_from_empty_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUQING_KEYWORDS", "")
    assert Settings().keywords == []


def test_keywords_from_toml_array(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, 'keywords = ["京东", " 携程 "]\n', monkeypatch)
    assert Settings().keywords == ["京东", "携程"]


def test_source_thresholds_from_a_toml_table(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, "alert_threshold = 0.85\n[source_thresholds]\nweibo = 0.95\n",
                 monkeypatch)
    thresholds = Settings().thresholds
    assert (thresholds.for_source("weibo"), thresholds.for_source("tieba")) == (0.95, 0.85)
    assert thresholds.for_source(None) == 0.85
    assert thresholds.describe() == "0.85 (weibo 0.95)"


def test_source_thresholds_from_a_json_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUQING_SOURCE_THRESHOLDS", '{"tieba": 0.9, "weibo": 0.7}')
    assert Settings().thresholds.by_source == {"tieba": 0.9, "weibo": 0.7}


def test_a_source_threshold_out_of_range_names_the_source() -> None:
    message = config_error(source_thresholds={"weibo": 1.5})
    assert "source_thresholds.weibo" in message and "less than or equal to 1" in message


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_postgres_urls_get_the_psycopg_driver(scheme: str) -> None:
    settings = Settings(database_url=f"{scheme}://user:pw@db.example:5432/yuqing")
    assert settings.database_url == "postgresql+psycopg://user:pw@db.example:5432/yuqing"


def test_other_database_urls_are_unchanged(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    assert Settings(database_url=url).database_url == url


def test_data_dir_is_made_absolute_against_the_working_directory(tmp_path: Path) -> None:
    settings = Settings(data_dir=Path("data"))
    assert settings.data_dir == tmp_path.resolve() / "data"
    assert settings.artifacts_dir == settings.data_dir / "artifacts"
    assert settings.cache_dir == settings.data_dir / "cache"


def test_default_data_dir_is_var_under_the_working_directory(tmp_path: Path) -> None:
    assert Settings().data_dir == tmp_path.resolve() / "var"


def test_database_url_defaults_to_sqlite_in_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'data' / 'yuqing.db'}"


def test_precedence_argument_over_environment_over_file_over_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path, "batch_size = 64\ntopic_comments = 'from-file'\n"
                           "consumer_group = 'from-file'\n", monkeypatch)
    monkeypatch.setenv("YUQING_TOPIC_COMMENTS", "from-env")
    monkeypatch.setenv("YUQING_CONSUMER_GROUP", "from-env")
    settings = Settings(consumer_group="from-code")
    assert settings.consumer_group == "from-code"
    assert settings.topic_comments == "from-env"
    assert settings.batch_size == 64
    assert settings.kafka_retries == 5


def test_model_copy_keeps_working() -> None:
    settings = Settings(kafka_bootstrap="h1:9092, h2:9092", kafka_timeout_s=10)
    replay = settings.model_copy(update={"consumer_group": "replay"})
    assert replay.consumer_group == "replay"
    assert replay.bootstrap_servers == ["h1:9092", "h2:9092"]


def test_delivery_timeout_defaults_to_kafkas_own(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().kafka_delivery_timeout_s == 120
    monkeypatch.setenv("YUQING_KAFKA_DELIVERY_TIMEOUT_S", "30")
    assert Settings().kafka_delivery_timeout_s == 30


def test_delivery_timeout_must_cover_a_request_and_the_linger(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings(kafka_timeout_s=10, kafka_delivery_timeout_s=10.005).kafka_delivery_timeout_s
    monkeypatch.setenv("YUQING_KAFKA_DELIVERY_TIMEOUT_S", "10")
    message = config_error(kafka_timeout_s=10)
    assert message.startswith("environment variable YUQING_KAFKA_DELIVERY_TIMEOUT_S: ")
    assert "must be at least kafka_timeout_s (10) plus the producer's 5 ms linger" in message
