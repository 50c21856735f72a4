"""Hot swap: follow the registry's current version and switch Scorers between batches.

A new version is loaded in a background thread while the old one keeps scoring; the switch is a
reference swap, so every batch is scored by exactly one version and no document waits on a load.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from models.serving.registry import Registry
from models.serving.scorer import Score, Scorer

log = logging.getLogger(__name__)

ScorerFactory = Callable[[str], Scorer]


class SwappingScorer:
    """Scores with the registry's current version; ``poll`` picks up promotions."""

    def __init__(
        self, registry: Registry, factory: ScorerFactory, poll_interval_s: float = 5.0
    ) -> None:
        self.registry = registry
        self.factory = factory
        self.poll_interval_s = poll_interval_s
        self._scorer = factory(registry.current())
        self._loading: str | None = None
        # Called with a version that could not be loaded (the worker counts it for Prometheus).
        self.on_load_failure: Callable[[str], None] = lambda version: None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def scorer(self) -> Scorer:
        """The Scorer in use now."""
        return self._scorer

    def score(self, texts: Sequence[str]) -> list[Score]:
        """Score one batch with the version current when the batch starts."""
        return self._scorer.score(texts)

    def poll(self) -> bool:
        """Load and switch to the current version if it changed; True when it switched."""
        wanted = self.registry.current()
        with self._lock:
            if wanted in (self._scorer.version, self._loading):
                return False
            self._loading = wanted
        try:
            fresh = self.factory(wanted)
        except Exception:
            log.exception(
                "could not load model version %s; keeping %s", wanted, self._scorer.version
            )
            self.on_load_failure(wanted)
            return False
        finally:
            with self._lock:
                self._loading = None
        old = self._scorer.version
        self._scorer = fresh
        log.info("model version switched from %s to %s", old, wanted)
        return True

    def start(self) -> None:
        """Poll the registry in a daemon thread until ``stop``."""
        self._thread = threading.Thread(target=self._loop, name="model-hotswap", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_interval_s):
            try:
                self.poll()
            except Exception:
                log.exception("model registry poll failed; polling again")

    def stop(self) -> None:
        """End the polling thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.poll_interval_s + 1)
