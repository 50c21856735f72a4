"""Optional data hygiene: e-mail addresses and phone numbers out of the text before it is scored
and indexed (``streaming.mask_pii``, off by default).

Phone numbers are told from the numbers finance text is full of (prices, dates, volumes, years)
by their shape: a leading ``+`` or ``(``, or at least two separators of one kind between digit
groups, and 9 to 15 digits in all.
"""

from __future__ import annotations

import re

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]\d{2,4}){1,4}(?![\w])"
)
_MIN_DIGITS, _MAX_DIGITS = 9, 15


def _phone(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = sum(c.isdigit() for c in found)
    separators = [c for c in found.strip() if c in " .-"]
    # Phones keep one separator (212-555-0147, 030.1234.5678); "190.50 195.00" mixes them.
    uniform = len(separators) >= 2 and len(set(separators)) == 1
    plausible = found.startswith(("+", "(")) or uniform
    return PHONE_MASK if plausible and _MIN_DIGITS <= digits <= _MAX_DIGITS else found


def mask_pii(text: str) -> str:
    """``text`` with e-mail addresses and phone numbers replaced by ``[email]`` / ``[phone]``."""
    return _PHONE.sub(_phone, _EMAIL.sub(EMAIL_MASK, text))
