"""Text preparation shared by training and inference, so a model sees at scoring time exactly
the kind of text it was trained on."""

from __future__ import annotations

import re
from collections.abc import Sequence

LINK = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
# One word-piece in BERT-style vocabularies: a link costs one token instead of ~8-15.
LINK_STANDIN = "http"


def normalise_links(texts: Sequence[str]) -> list[str]:
    """Every link replaced by one stand-in word (links carry no sentiment or topic)."""
    return [LINK.sub(LINK_STANDIN, t) for t in texts]
