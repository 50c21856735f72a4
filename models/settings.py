"""The models section of the settings: which model scores documents, and how."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelSettings(_Section):
    """Which model scores documents, and how (see models.Scorer)."""

    registry_dir: Path = Path(".undertow/registry")
    # The version shipped in the repository is current until another one is promoted.
    use_shipped: bool = True
    # A version directory to use instead of the registry's current version.
    model_dir: Path | None = None
    variant: Literal["auto", "int8", "fp16", "fp32"] = "auto"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # Intra-op threads of ONNX Runtime; None = the cores this process may run on.
    threads: int | None = Field(default=None, ge=1, le=256)
    # Let those threads spin-wait for work: faster for a lone batch on an idle machine, but a
    # stream's gaps between batches are then spent spinning on the cores the rest needs.
    spin_threads: bool = False
    max_batch: int = Field(default=64, ge=1, le=4096)
    # Padded tokens per inference batch (rows x longest row); None = by device (models.scorer:
    # 512 on CPU, measured best on 2 cores; 16384 on a GPU).
    batch_tokens: int | None = Field(default=None, ge=8)
    max_length: int = Field(default=128, ge=8, le=512)
    # Replace links by one stand-in word; None = as the model's card says it was trained.
    normalise_links: bool | None = None
    # Apply the card's calibration temperatures (false: the raw softmax probabilities).
    calibrate: bool = True
    # Label a text negative only when its negative probability reaches this (None: the likeliest
    # label). The card's `negative_thresholds` give the probability for a precision on dev.
    negative_min_prob: float | None = Field(default=None, gt=0.0, lt=1.0)
    # How often running workers look for a newly promoted version (0 = never switch).
    hotswap_poll_s: float = Field(default=5.0, ge=0)
