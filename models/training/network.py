"""The two-head classifier: one Hugging Face encoder, mean pooling, a sentiment and a topic head.

Imports torch: used by training and export only (the ``train`` extra), never by the Scorer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import AutoModel

CHECKPOINT_HEADS = "heads.pt"
CHECKPOINT_META = "undertow.json"


class TwoHeadClassifier(nn.Module):
    """Encoder → masked mean pooling → dropout → two linear heads (logits)."""

    encoder: Any  # a transformers PreTrainedModel (or a peft wrapper of one)

    def __init__(self, encoder: nn.Module, hidden: int, n_sentiment: int, n_topic: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(0.1)
        self.sentiment = nn.Linear(hidden, n_sentiment)
        self.topic = nn.Linear(hidden, n_topic)

    @classmethod
    def from_base(
        cls, base: str | Path, n_sentiment: int, n_topic: int, attention: str | None = None
    ) -> TwoHeadClassifier:
        """A fresh model on top of a Hugging Face encoder directory."""
        kwargs = {"attn_implementation": attention} if attention else {}
        encoder = AutoModel.from_pretrained(str(base), **kwargs)
        return cls(encoder, int(encoder.config.hidden_size), n_sentiment, n_topic)

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The mean of the token states the mask keeps."""
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0]
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        pooled: torch.Tensor = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-6)
        return pooled

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sentiment logits and topic logits from one encoder pass."""
        pooled = self.dropout(self.pooled(input_ids, attention_mask))
        return self.sentiment(pooled), self.topic(pooled)

    def save(self, directory: Path, meta: dict[str, Any]) -> None:
        """Write the encoder (Hugging Face format), the heads and undertow's metadata."""
        directory.mkdir(parents=True, exist_ok=True)
        self.encoder.save_pretrained(str(directory))
        heads = {"sentiment": self.sentiment.state_dict(), "topic": self.topic.state_dict()}
        torch.save(heads, directory / CHECKPOINT_HEADS)
        (directory / CHECKPOINT_META).write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(
        cls, directory: Path, attention: str | None = None
    ) -> tuple[TwoHeadClassifier, dict[str, Any]]:
        """A saved checkpoint and its metadata (``attention``: e.g. "eager" for export)."""
        meta = json.loads((directory / CHECKPOINT_META).read_text())
        n_sentiment, n_topic = len(meta["sentiment_labels"]), len(meta["topic_labels"])
        model = cls.from_base(directory, n_sentiment, n_topic, attention)
        heads = torch.load(directory / CHECKPOINT_HEADS, weights_only=True)
        model.sentiment.load_state_dict(heads["sentiment"])
        model.topic.load_state_dict(heads["topic"])
        return model, meta

    @classmethod
    def start(
        cls, base: Path, sentiment_labels: list[str], topic_labels: list[str]
    ) -> tuple[TwoHeadClassifier, bool]:
        """The model training starts from, and whether its heads were trained before: one of
        undertow's checkpoints with these labels goes on from its heads, so a retrain (on
        corrections, say) starts from the model it improves; any other encoder gets new heads."""
        meta_path = base / CHECKPOINT_META
        if meta_path.is_file() and (base / CHECKPOINT_HEADS).is_file():
            meta = json.loads(meta_path.read_text())
            if (meta.get("sentiment_labels"), meta.get("topic_labels")) == (
                sentiment_labels,
                topic_labels,
            ):
                return cls.load(base)[0], True
        return cls.from_base(base, len(sentiment_labels), len(topic_labels)), False
