"""What the dashboard shows of a beneficiary's free text: e-mails and numbers masked.

The store masks names, phone numbers and e-mails before an unanswered question is written; this
is a second net at display time (and for rows written before that masking existed): any e-mail
address and any run of six digits or more (phone, social security or CAF number) becomes "•••".
"""

from __future__ import annotations

import re
import unicodedata

MASK = "•••"
_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_LONG_NUMBER = re.compile(r"(?:\+|\b00)?\d(?:[\s.\-/]?\d){5,}")


def masked(text: str) -> str:
    """The text with e-mails and long numbers masked, and control characters removed."""
    text = _EMAIL.sub(MASK, text)
    text = _LONG_NUMBER.sub(MASK, text)
    return "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text
    ).strip()
