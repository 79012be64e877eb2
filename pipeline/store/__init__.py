"""The SQL store: alerts and dead letters, shared by the pipeline sink, the CLI and the API.

``models`` has the tables, ``engine`` opens the database and says whether it is usable,
``migrations`` creates and upgrades the schema, and ``queries`` holds all the SQL.
"""
