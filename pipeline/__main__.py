"""``python -m pipeline`` is the ``yuqing`` command, for subprocesses that need this interpreter."""

from pipeline.cli import main

main()
