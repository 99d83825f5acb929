"""Logs that never hold what people wrote, their names or their phone numbers, at any level.

Our own modules (`bot`, `adapters`, `aiguillage`) log ids, kinds and counts, never texts. Some
libraries do log payloads below WARNING: python-telegram-bot at DEBUG logs every Bot API call
with its parameters (the texts sent and received), matrix-nio logs events, aiosqlite logs the
statements it runs with their arguments, httpx logs URLs holding the bot token. So, on every
handler of the root logger:

- records from other libraries below WARNING are dropped, whatever the configured level
  (DEBUG included): the level applies to our modules only;
- every record that remains, ours included, is rendered once and passed through
  `mask_personal` (phone numbers, long numbers, e-mails, handles, names after "je m'appelle" …),
  its exception text too, as a safety net. Every number of 7 digits or more becomes « [numéro] »,
  platform ids included (a Telegram update or chat id): ids stay out of the logs too.

`install_private_logging()` is called once by the CLI after `logging.basicConfig`.
"""

from __future__ import annotations

import logging

from bot.privacy import NUMBER, mask_personal

OUR_LOGGERS = ("bot", "adapters", "aiguillage", "bench", "__main__")


def is_ours(name: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in OUR_LOGGERS)


class PrivateLogFilter(logging.Filter):
    """Drops other libraries' records below WARNING; masks personal data in the others."""

    def __init__(self) -> None:
        super().__init__()
        self._exceptions = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING and not is_ours(record.name):
            return False
        if getattr(record, "_aiguillage_masked", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: keep the template only, never the arguments
            message = str(record.msg)
        record.msg = mask_personal(message, phone=NUMBER)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._exceptions.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal(record.exc_text, phone=NUMBER)
        if record.stack_info:
            record.stack_info = mask_personal(record.stack_info, phone=NUMBER)
        record._aiguillage_masked = True
        return True


def install_private_logging(root: logging.Logger | None = None) -> PrivateLogFilter:
    """Put the filter on every handler of the root logger (idempotent)."""
    target = root or logging.getLogger()
    log_filter = PrivateLogFilter()
    for handler in target.handlers:
        if not any(isinstance(f, PrivateLogFilter) for f in handler.filters):
            handler.addFilter(log_filter)
    return log_filter
