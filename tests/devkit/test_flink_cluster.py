"""The standalone-cluster test's Flink must be the one `make flink-dist` fetches, and a release of
the Flink minor version the job server was built for: another minor would not take the job."""

from __future__ import annotations

import re

from devkit.flink_cluster import FLINK_DIST_VERSION
from pipeline.runners import FLINK_MINOR
from tests.utils.paths import REPO_ROOT


def test_the_flink_distribution_is_the_makefiles_and_the_job_servers_minor() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert re.search(r"^FLINK_DIST_VERSION := (.*)$", makefile, re.MULTILINE)[1] \
        == FLINK_DIST_VERSION
    assert FLINK_DIST_VERSION.startswith(f"{FLINK_MINOR}.")
