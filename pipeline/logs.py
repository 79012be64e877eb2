"""Logging for every ``yuqing`` command: our own INFO lines, only warnings from libraries.

Without this an operator sees either nothing (Python's default WARNING) or, at INFO, Kafka's
connection chatter and Beam's bundle bookkeeping burying the few lines that matter. ``-v`` opens
everything up to DEBUG.
"""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
OUR_LOGGERS = ("pipeline", "crawlers", "models", "devkit")
# Named although the root level already hides their INFO: some set their own level on import.
NOISY_LOGGERS = ("kafka", "scrapy", "twisted", "apache_beam", "urllib3", "filelock", "h5py",
                 "asyncio", "sqlalchemy", "transformers", "torch")
# kafka-python logs every refused reconnect as an ERROR (about 170 lines in a 15 s outage) and a
# cancelled metadata refresh when a consumer closes. What an operator needs from that, our own
# code says once: the reader warns once a minute while no data arrives, and producers count and
# log failed sends; `-v` shows the client's own lines.
KAFKA_CLIENT = "kafka"
# jieba gives its logger its own stderr handler and sets it to DEBUG when imported, so a level
# set on it before the import is overwritten; a filter survives the import.
JIEBA_LOGGER = "jieba"
# Beam logs this on the root logger whenever anything imports its BigQuery client (RunInference
# does, through apache_beam.io.gcp); the job never talks to BigQuery, so it is noise on every run.
APITOOLS_MESSAGE = "apitools not found, and bigquery client libraries are not available"


class _Below(logging.Filter):
    """Drops records under a level, whatever level the logger itself is set to."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level


class _LibraryFloor(logging.Filter):
    """Drops a library's records under its floor, at the handler: Scrapy resets its own loggers
    to DEBUG whenever a crawl starts (and logs its versions at INFO), so a logger level alone
    does not hold."""

    def __init__(self, floors: dict[str, int]) -> None:
        super().__init__()
        self.floors = floors

    def filter(self, record: logging.LogRecord) -> bool:
        floor = self.floors.get(record.name.partition(".")[0], logging.NOTSET)
        return record.levelno >= floor


class _DropMessage(logging.Filter):
    """Drops the one record that starts with ``prefix``."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefix)


def configure_logging(verbose: bool) -> None:
    """Set levels for our loggers and the libraries'; safe to call again, e.g. per CLI test.

    Call it before importing Beam: the apitools filter must be in place when Beam logs that
    line, and the root handler before a library's first ``logging.warning()`` installs its own.
    """
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    for name in OUR_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.INFO)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.WARNING)
    logging.getLogger(KAFKA_CLIENT).setLevel(logging.NOTSET if verbose else logging.CRITICAL)
    _replace_filter(root, _DropMessage(APITOOLS_MESSAGE))
    floors = {} if verbose else dict.fromkeys(NOISY_LOGGERS, logging.WARNING)
    if not verbose:
        floors[KAFKA_CLIENT] = logging.CRITICAL
    for handler in root.handlers:
        _replace_filter(handler, _LibraryFloor(floors))
    _quiet_jieba(verbose)


def _quiet_jieba(verbose: bool) -> None:
    """Keep jieba's "Building prefix dict …" DEBUG lines out unless verbose.

    Its records stop at its own handler instead of also propagating to ours, which printed
    each line twice, once in each format.
    """
    jieba = logging.getLogger(JIEBA_LOGGER)
    jieba.propagate = False
    _replace_filter(jieba, _Below(logging.NOTSET if verbose else logging.WARNING))


def _replace_filter(logger: logging.Filterer, wanted: logging.Filter) -> None:
    """Install ``wanted`` in place of an earlier filter of its class, so repeated calls do not
    stack up filters."""
    for old in [f for f in logger.filters if type(f) is type(wanted)]:
        logger.removeFilter(old)
    logger.addFilter(wanted)
