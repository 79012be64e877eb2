"""The same job on another Beam runner: Prism, Beam's portable local runner, built by
`make prism` from the Go module proxy at the installed Beam's version.

Prism splits restrictions dynamically, which the local FnApiRunner never does: the job must read
every partition once, store what the local runner stores, and commit every offset.
"""

from __future__ import annotations

import os
from pathlib import Path

import apache_beam
import pytest
from sqlalchemy.orm import Session

from devkit.bench.faults import committed_offsets
from devkit.bench.reference import expected_alerts
from devkit.hostile import cycled_records, produce_records
from pipeline.config import Settings
from pipeline.store.engine import make_engine
from pipeline.store.queries import alert_ids
from pipeline.stream.run import run

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def prism() -> Path:
    """The Prism binary; skipped when missing, except in CI, where `make test` builds it."""
    binary = REPO_ROOT / "var" / "prism" / apache_beam.__version__ / "prism"
    if not os.access(binary, os.X_OK):
        if os.environ.get("CI"):
            pytest.fail(f"{binary} missing; `make prism` should have built it")
        pytest.skip(f"{binary} missing (`make prism`)")
    return binary


def test_the_job_on_prism_stores_and_commits_what_the_local_runner_does(
        settings: Settings, prism: Path) -> None:
    records = cycled_records(300)
    produce_records(settings, records)

    summary = run(["--until-idle=5", "--runner=PrismRunner", f"--prism_location={prism}"],
                  settings)

    assert (summary.read, summary.scored) == (len(records), len(records))
    with Session(make_engine(settings.database_url)) as session:
        stored = set(alert_ids(session))
    assert stored == expected_alerts(settings, [(r.id, r.text) for r in records])
    assert committed_offsets(settings) == len(records)
