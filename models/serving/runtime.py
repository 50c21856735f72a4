"""The models a running service scores with, built from the settings: the registry's current
version followed through promotions, or one fixed version directory."""

from __future__ import annotations

from pathlib import Path

from models.serving.hotswap import SwappingScorer
from models.serving.registry import SHIPPED_DIR, Registry
from models.serving.scorer import Scorer
from models.settings import ModelSettings


def registry_for(cfg: ModelSettings) -> Registry:
    """The configured registry (with the shipped versions unless turned off)."""
    return Registry(cfg.registry_dir, SHIPPED_DIR if cfg.use_shipped else None)


def scorer_for(
    cfg: ModelSettings, model_dir: Path, device: str | None = None, *, calibrate: bool = True
) -> Scorer:
    """A Scorer for one version directory, configured as the settings say (``calibrate=False``:
    the raw probabilities, whatever the card and settings say)."""
    return Scorer(
        model_dir,
        device=device or cfg.device,
        variant=cfg.variant,
        threads=cfg.threads,
        max_batch=cfg.max_batch,
        max_length=cfg.max_length,
        batch_tokens=cfg.batch_tokens,
        normalise_links=cfg.normalise_links,
        spin=cfg.spin_threads,
        calibrate=calibrate and cfg.calibrate,
        negative_min_prob=cfg.negative_min_prob if calibrate else None,
    )


def live_scorer(cfg: ModelSettings) -> Scorer | SwappingScorer:
    """What a worker scores with: a fixed ``model_dir``, else the registry's current version,
    switching to a newly promoted one between batches (polled every ``hotswap_poll_s``)."""
    if cfg.model_dir is not None:
        return scorer_for(cfg, cfg.model_dir)
    registry = registry_for(cfg)
    swapping = SwappingScorer(
        registry,
        lambda version: scorer_for(cfg, registry.path(version)),
        poll_interval_s=cfg.hotswap_poll_s or 5.0,
    )
    if cfg.hotswap_poll_s > 0:
        swapping.start()
    return swapping
