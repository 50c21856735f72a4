"""Stories: near-duplicate documents over a sliding horizon share one ``story_id``.

A story rewritten by ten outlets is one story with ten documents. Each document's normalised
text (``streaming.fingerprint``: no links, case or punctuation) is cut into word shingles and
summarised by a MinHash (``datasketch``); locality-sensitive hashing splits the MinHash into
bands, and two documents that agree on all rows of any band are taken as one story (with the
bands chosen so that this happens about when their Jaccard similarity passes
``streaming.story_similarity``). The bands live in Redis for ``streaming.story_horizon_s``, so
every score worker sees the same stories: a document's story is the one a band of it was
already filed under, else a new story named by the document's own id (its origin).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import redis
from datasketch import MinHash

from streaming import keys
from streaming.fingerprint import normalise

PERMUTATIONS = 64
SHINGLE = 3  # words per shingle


def bands_for(similarity: float, permutations: int = PERMUTATIONS) -> tuple[int, int]:
    """(bands, rows) whose threshold ((1/bands) ** (1/rows)) is nearest ``similarity``."""
    best = (permutations, 1)
    for rows in range(1, permutations + 1):
        bands = permutations // rows
        if abs((1 / bands) ** (1 / rows) - similarity) < abs(
            (1 / best[0]) ** (1 / best[1]) - similarity
        ):
            best = (bands, rows)
    return best


def signature(text: str, bands: int, rows: int) -> list[str]:
    """The text's band hashes, one per band (empty for a text without words)."""
    words = normalise(text).split()
    if not words:
        return []
    shingles = {" ".join(words[i : i + SHINGLE]).encode()
                for i in range(max(1, len(words) - SHINGLE + 1))}  # fmt: skip
    minhash = MinHash(num_perm=PERMUTATIONS, seed=21)
    minhash.update_batch(list(shingles))
    values = minhash.hashvalues
    return [
        hashlib.blake2b(values[b * rows : (b + 1) * rows].tobytes(), digest_size=8).hexdigest()
        for b in range(bands)
    ]


class StoryIndex(Protocol):
    """Which story each document belongs to."""

    def stories(self, texts: Mapping[str, str]) -> dict[str, str]:
        """Document id → story id (the origin's document id) for a batch, in order: a
        document can join a story begun earlier in the same batch."""


def signatures(texts: Mapping[str, str], bands: int, rows: int) -> dict[str, list[str]]:
    """Each document's band keys (``band:hash``)."""
    return {d: [f"{b}:{h}" for b, h in enumerate(signature(t, bands, rows))]
            for d, t in texts.items()}  # fmt: skip


def _resolve(
    sigs: Mapping[str, list[str]], filed: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The batch's stories from the bands already ``filed`` (band key → story); and what to
    file for the batch's new bands."""
    out: dict[str, str] = {}
    new: dict[str, str] = {}
    for doc_id, sig in sigs.items():
        known = next((filed.get(s) or new.get(s) for s in sig if filed.get(s) or new.get(s)),
                     None)  # fmt: skip
        story = known or doc_id
        out[doc_id] = story
        for s in sig:
            if s not in filed:
                new.setdefault(s, story)
    return out, new


class RedisStories:
    """Bands as Redis keys holding the story id, each living ``horizon_s`` from its filing."""

    def __init__(self, client: redis.Redis, prefix: str, *, similarity: float, horizon_s: int
                 ) -> None:  # fmt: skip
        self.client = client
        self.prefix = prefix
        self.horizon_s = horizon_s
        self.bands, self.rows = bands_for(similarity)

    def stories(self, texts: Mapping[str, str]) -> dict[str, str]:
        """Two round trips per batch: read the batch's bands, file the new ones."""
        sigs = signatures(texts, self.bands, self.rows)
        wanted = list(dict.fromkeys(s for sig in sigs.values() for s in sig))
        found = self.client.mget([keys.story_key(s, self.prefix) for s in wanted]) if wanted else []
        filed = {s: str(v) for s, v in zip(wanted, found, strict=True) if v is not None}
        out, new = _resolve(sigs, filed)
        if new:
            pipe = self.client.pipeline(transaction=False)
            for band, story in new.items():  # NX: a story filed meanwhile elsewhere stays
                pipe.set(keys.story_key(band, self.prefix), story, nx=True, ex=self.horizon_s)
            pipe.execute()
        return out


@dataclass
class MemoryStories:
    """The same in memory, without a horizon (tests)."""

    similarity: float = 0.6
    filed: dict[str, str] = field(default_factory=dict)

    def stories(self, texts: Mapping[str, str]) -> dict[str, str]:
        """As RedisStories, from a dict."""
        out, new = _resolve(signatures(texts, *bands_for(self.similarity)), self.filed)
        for band, story in new.items():
            self.filed.setdefault(band, story)
        return out
