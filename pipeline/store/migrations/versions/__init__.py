"""One module per schema revision, named after its id; Alembic loads them by path."""
