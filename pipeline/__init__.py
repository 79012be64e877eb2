"""Yuqing runtime: the comment contract, settings, the Beam job, the store and the CLI."""
