"""Near-duplicate fingerprints: the same story reposted with another link, case or spacing."""

from __future__ import annotations

import hashlib
import re

from models.serving.textprep import LINK

_NON_WORD = re.compile(r"[^\w$]+")


def normalise(text: str) -> str:
    """Text without links, punctuation runs, case or extra spaces."""
    return _NON_WORD.sub(" ", LINK.sub(" ", text).lower()).strip()


def fingerprint(text: str) -> str:
    """A short stable hash of the normalised text (equal for reposts of one story)."""
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()[:24]
