"""The error of a wrong configuration (its own module: config sections import it)."""

from __future__ import annotations

from collections.abc import Sequence


class ConfigError(ValueError):
    """The configuration is wrong; the message says where and how to fix it (French first).

    `problems` lists each problem on its own ("telegram.poll_timeout : …"). Raised by the
    loader and by the adapters (a missing secret, a token refused), caught by the CLI (exit 2).
    """

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems) or [message]


__all__ = ["ConfigError"]
