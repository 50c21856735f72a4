"""Hot swap: a promotion switches the version between batches, under concurrent scoring."""

from __future__ import annotations

import threading
from pathlib import Path

from models.serving.hotswap import SwappingScorer
from models.serving.registry import Registry
from models.serving.scorer import Scorer


def test_promotion_switches_between_batches_without_losing_any(registry_dir: Path) -> None:
    registry = Registry(registry_dir, shipped=None)
    registry.set_current("tiny-good", by="test", reason="first")
    swapping = SwappingScorer(registry, lambda v: Scorer(registry.path(v), threads=1))
    batch = ["oil soars", "shares slump", "fed rates", "flat"] * 8
    seen: list[list[str]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def work() -> None:
        try:
            while not stop.is_set():
                seen.append([s.model_version for s in swapping.score(batch)])
        except Exception as exc:  # noqa: BLE001 (any failure is collected and asserted on)
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(3)]
    for w in workers:
        w.start()
    while len(seen) < 20:
        pass
    registry.set_current("tiny-bad", by="test", reason="second")
    assert swapping.poll() is True
    count_at_swap = len(seen)
    while len(seen) < count_at_swap + 20:
        pass
    stop.set()
    for w in workers:
        w.join()

    assert errors == []
    assert all(len(versions) == len(batch) for versions in seen)  # nothing dropped
    assert all(len(set(versions)) == 1 for versions in seen)  # one version per batch
    assert seen[0][0] == "tiny-good"
    assert seen[-1][0] == "tiny-bad"
    assert swapping.scorer.version == "tiny-bad"
    assert swapping.poll() is False  # nothing new


def _wait_for(swapping: SwappingScorer, version: str, timeout_s: float = 10.0) -> None:
    """Until the polling thread has switched to ``version`` (or the time is up)."""
    for _ in range(int(timeout_s / 0.05)):
        if swapping.scorer.version == version:
            return
        threading.Event().wait(0.05)


def test_background_polling_picks_up_a_promotion(registry_dir: Path) -> None:
    registry = Registry(registry_dir, shipped=None)
    registry.set_current("tiny-good", by="test", reason="test")
    swapping = SwappingScorer(registry, lambda v: Scorer(registry.path(v)), poll_interval_s=0.05)
    swapping.start()
    try:
        registry.set_current("tiny-bad", by="test", reason="test")
        _wait_for(swapping, "tiny-bad")
    finally:
        swapping.stop()
    assert swapping.score(["oil soars"])[0].model_version == "tiny-bad"


class FlakyRegistry(Registry):
    """A registry whose CURRENT pointer cannot be read a few times (a volume that hiccups)."""

    def __init__(self, root: Path, failures: int) -> None:
        super().__init__(root, shipped=None)
        self.failures = failures

    def current(self) -> str:
        if self.failures > 0 and threading.current_thread().name == "model-hotswap":
            self.failures -= 1
            raise OSError("stale file handle")
        return super().current()


def test_the_polling_thread_survives_errors_and_a_version_that_will_not_load(
    registry_dir: Path, tmp_path: Path
) -> None:
    registry = FlakyRegistry(registry_dir, failures=3)
    registry.set_current("tiny-good", by="test", reason="test")
    (registry_dir / "tiny-broken").mkdir()
    (registry_dir / "tiny-broken" / "card.json").write_text('{"version": "tiny-broken"}')
    swapping = SwappingScorer(registry, lambda v: Scorer(registry.path(v)), poll_interval_s=0.02)
    failed: list[str] = []
    swapping.on_load_failure = failed.append  # what the worker counts for Prometheus
    swapping.start()
    try:
        registry.set_current("tiny-broken", by="test", reason="a version that cannot load")
        threading.Event().wait(0.3)
        assert swapping.scorer.version == "tiny-good"  # the broken one is refused, not fatal
        assert failed and set(failed) == {"tiny-broken"}
        registry.set_current("tiny-bad", by="test", reason="test")
        _wait_for(swapping, "tiny-bad")
    finally:
        swapping.stop()
    assert registry.failures == 0
    assert swapping.scorer.version == "tiny-bad"
