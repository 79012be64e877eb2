"""Errors an operator can act on. Each message is one line that says what is wrong and what to
do; the ``yuqing`` command prints it without a traceback (``-v`` shows one). The settings, the
store and the broker have their own such errors next to the code that raises them."""


class OperatorError(Exception):
    """Base of the errors below; catch it to print one line instead of a traceback."""


class ArtifactMissing(OperatorError, FileNotFoundError):
    """A model artifact the configuration names is not there; the message says how to get it."""


class UnknownScorer(OperatorError, ValueError):
    """``YUQING_MODEL`` names no installed scorer; the message lists those that are."""


class BrokerUnreachable(OperatorError, ConnectionError):
    """No Kafka broker answers at the configured bootstrap servers."""
