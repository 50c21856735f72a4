"""Stories: near-duplicate documents over a sliding horizon share one ``story_id``.

A story rewritten by ten outlets is one story with ten documents. Each document's normalised
text (``streaming.fingerprint``: no links, case or punctuation) is cut into word shingles and
summarised by a MinHash (``datasketch``); locality-sensitive hashing splits the MinHash into
bands chosen for ``streaming.story_similarity``. A document that shares a band with a story's
first document (its origin) joins the story if their MinHashes agree on that share of their
values (a shared band alone may be chance); else it begins a story named by its own id. Only
origins are filed, so a story cannot drift from one text to another by chaining. Bands and
origins live in Redis for ``streaming.story_horizon_s``, so every score worker sees the same
stories.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
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


def minhash(text: str) -> np.ndarray | None:
    """The MinHash of the text's word shingles (None for a text without words)."""
    words = normalise(text).split()
    if not words:
        return None
    shingles = {" ".join(words[i : i + SHINGLE]).encode()
                for i in range(max(1, len(words) - SHINGLE + 1))}  # fmt: skip
    sketch = MinHash(num_perm=PERMUTATIONS, seed=21)
    sketch.update_batch(list(shingles))
    return np.asarray(sketch.hashvalues, dtype=np.uint32)


def bands_of(values: np.ndarray, bands: int, rows: int) -> list[str]:
    """The band keys (``band:hash``) of a MinHash."""
    rowed = (values[b * rows : (b + 1) * rows].tobytes() for b in range(bands))
    return [f"{b}:{hashlib.blake2b(r, digest_size=8).hexdigest()}" for b, r in enumerate(rowed)]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The Jaccard similarity two MinHashes estimate."""
    return float(np.mean(a == b))


@dataclass(frozen=True)
class _Sketch:
    doc_id: str
    values: np.ndarray
    bands: list[str]


def _sketches(texts: Mapping[str, str], bands: int, rows: int) -> dict[str, _Sketch | None]:
    out: dict[str, _Sketch | None] = {}
    for doc_id, text in texts.items():
        values = minhash(text)
        sketch = None if values is None else _Sketch(doc_id, values, bands_of(values, bands, rows))
        out[doc_id] = sketch
    return out


class StoryIndex(Protocol):
    """Which story each document belongs to."""

    def stories(self, texts: Mapping[str, str]) -> dict[str, str]:
        """Document id → story id (the origin's document id) for a batch, in order: a
        document can join a story begun earlier in the same batch."""


def _resolve(
    sketches: Mapping[str, _Sketch | None],
    filed: Mapping[str, str],
    origins: Mapping[str, np.ndarray],
    threshold: float,
) -> tuple[dict[str, str], list[_Sketch]]:
    """The batch's stories: a document joins the story of a band it shares with the story's
    origin if their MinHashes agree to ``threshold`` (a shared band alone may be chance);
    else it begins a story. Only origins are filed, so stories do not drift by chaining."""
    out: dict[str, str] = {}
    begun: list[_Sketch] = []
    bands = dict(filed)
    known = dict(origins)
    for doc_id, sketch in sketches.items():
        out[doc_id] = doc_id
        if sketch is None:
            continue
        for band in sketch.bands:
            story = bands.get(band)
            origin = known.get(story) if story is not None else None
            if story is not None and origin is not None and (
                    similarity(origin, sketch.values) >= threshold):  # fmt: skip
                out[doc_id] = story
                break
        else:
            begun.append(sketch)
            known[doc_id] = sketch.values
            for band in sketch.bands:
                bands.setdefault(band, doc_id)
    return out, begun


class RedisStories:
    """Bands as Redis keys holding the story id, and each story's MinHash, living
    ``horizon_s`` from the story's first document."""

    def __init__(self, client: redis.Redis, prefix: str, *, similarity: float, horizon_s: int
                 ) -> None:  # fmt: skip
        self.client = client
        self.prefix = prefix
        self.horizon_s = horizon_s
        self.threshold = similarity
        self.bands, self.rows = bands_for(similarity)

    def stories(self, texts: Mapping[str, str]) -> dict[str, str]:
        """Three round trips per batch: the bands, the candidate stories' MinHashes, filing."""
        sketches = _sketches(texts, self.bands, self.rows)
        wanted = list(dict.fromkeys(b for s in sketches.values() if s for b in s.bands))
        found = self.client.mget([keys.story_key(b, self.prefix) for b in wanted]) if wanted else []
        filed = {b: str(v) for b, v in zip(wanted, found, strict=True) if v is not None}
        candidates = list(dict.fromkeys(filed.values()))
        raw = self.client.mget([keys.story_key(f"sig:{c}", self.prefix) for c in candidates]
                               ) if candidates else []  # fmt: skip
        origins = {c: np.frombuffer(bytes.fromhex(str(v)), dtype=np.uint32)
                   for c, v in zip(candidates, raw, strict=True) if v is not None}  # fmt: skip
        out, begun = _resolve(sketches, filed, origins, self.threshold)
        if begun:
            pipe = self.client.pipeline(transaction=False)
            for sketch in begun:  # NX: a band filed meanwhile by another worker stays its own
                pipe.set(keys.story_key(f"sig:{sketch.doc_id}", self.prefix),
                         sketch.values.tobytes().hex(), ex=self.horizon_s)  # fmt: skip
                for band in sketch.bands:
                    pipe.set(keys.story_key(band, self.prefix), sketch.doc_id, nx=True,
                             ex=self.horizon_s)  # fmt: skip
            pipe.execute()
        return out


@dataclass
class MemoryStories:
    """The same in memory, without a horizon (tests)."""

    similarity: float = 0.6
    filed: dict[str, str] = field(default_factory=dict)
    origins: dict[str, np.ndarray] = field(default_factory=dict)

    def stories(self, texts: Mapping[str, str]) -> dict[str, str]:
        """As RedisStories, from dicts."""
        sketches = _sketches(texts, *bands_for(self.similarity))
        out, begun = _resolve(sketches, self.filed, self.origins, self.similarity)
        for sketch in begun:
            self.origins[sketch.doc_id] = sketch.values
            for band in sketch.bands:
                self.filed.setdefault(band, sketch.doc_id)
        return out
