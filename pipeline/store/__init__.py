"""The SQL store: alerts and dead letters, shared by the pipeline sink, the CLI and the API."""
