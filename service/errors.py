"""Errors of the composition root, grouped by the exit code the command line gives them.

::

    ServiceError          root of the service layer's errors; the work failed (exit 1)
    └── ConfigError       the configuration is wrong or missing; fix it (exit 2)

Errors of the layers below keep their own trees (``kros_adapter.errors.KrosError`` …);
``service.cli.FAILURES`` maps every tree to an exit code and a hint, in one place.
Messages are one line that says what to do, because they are shown to IT staff as-is.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Root of the errors raised by :mod:`service`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(ServiceError):
    """The configuration cannot be used as it is.

    ``key`` is the dotted key at fault (``kros.max_concurrency``) when there is one, so
    that callers and tests need not parse the message.
    """

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key
