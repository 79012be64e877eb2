"""Alembic's entry point. :mod:`pipeline.store.migrations` runs it with a connection it opened
from the app's settings, so no URL is read here, nor from an alembic.ini or the environment."""

from alembic import context

from pipeline.store.migrations import alembic_options

connection = context.config.attributes["connection"]
context.configure(connection=connection, **alembic_options(connection))
with context.begin_transaction():
    context.run_migrations()
