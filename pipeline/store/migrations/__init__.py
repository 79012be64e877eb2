"""The store's schema revisions (Alembic, in ``versions/``) and :func:`upgrade`, which applies them.

Alembic is driven from code, with a connection from :func:`make_engine`, so the database is the
one the app's settings name and no ``alembic.ini`` is needed.
"""

from __future__ import annotations

import logging
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy import Connection
from sqlalchemy.engine import URL
from sqlalchemy.schema import SchemaItem

from pipeline.store.engine import (
    MIGRATIONS,
    SchemaError,
    connect,
    display_url,
    head_revision,
    make_engine,
    predates_migrations,
)
from pipeline.store.models import Base

log = logging.getLogger(__name__)

# The revision whose schema the code before migrations created, without recording any revision.
BASELINE = "0001"


def alembic_config(connection: Connection) -> Config:
    """Alembic's configuration for ``connection``, for any Alembic command: :func:`upgrade` uses
    it, and so does writing the next revision
    (``command.revision(alembic_config(c), "…", autogenerate=True, rev_id="0005")``)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def alembic_options(connection: Connection) -> dict[str, Any]:
    """How Alembic migrates and compares this database; ``env.py`` and the tests share it."""
    dialect = connection.dialect.name

    def on_this_dialect(item: SchemaItem, *_: Any) -> bool:
        # An index for one dialect only (models.POSTGRESQL_ONLY) is no difference elsewhere.
        return item.info.get("dialect", dialect) == dialect

    return {
        "target_metadata": Base.metadata,
        "include_object": on_this_dialect,
        # SQLite cannot alter a column; batch mode rebuilds the table instead.
        "render_as_batch": dialect == "sqlite",
    }


def upgrade(url: str | URL) -> str:
    """Bring the database at ``url`` to :func:`head_revision` and return it.

    A database made before migrations (the tables but no ``alembic_version``) holds revision
    0001's schema: it is stamped 0001 first, so its rows are migrated rather than the tables
    created again over them.
    """
    engine = make_engine(url)
    where = display_url(url)
    head = head_revision()
    try:
        # One transaction: on PostgreSQL a failed revision leaves the database as it was.
        with connect(engine) as connection, connection.begin():
            config = alembic_config(connection)
            before = MigrationContext.configure(connection).get_current_revision()
            if before is None and predates_migrations(connection):
                command.stamp(config, BASELINE)
                log.info("database at %s predates migrations: adopted it as revision %s",
                         where, BASELINE)
                before = BASELINE
            command.upgrade(config, head)
    except CommandError as exc:  # e.g. a revision only newer code knows
        raise SchemaError(f"cannot upgrade the database at {where}: {exc}") from exc
    finally:
        engine.dispose()
    if before == head:
        log.info("database at %s is already at revision %s", where, head)
    else:
        log.info("database at %s upgraded from revision %s to %s", where, before or "(empty)",
                 head)
    return head
