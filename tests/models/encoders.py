"""Hugging Face encoder directories of other architectures and sizes, with random weights and the
real MiniLM (BERT uncased) tokenizer: what `undertow train --base DIR` must take without code
changes, and, at BERT-base size, the speed a model of that size has (random weights compute
exactly as much as trained ones).

    python -m tests.models.encoders bert-base DIR    # 12 layers, hidden 768 (110M parameters)
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import torch
from transformers import AutoModel, BertConfig, DistilBertConfig, PretrainedConfig

from models.serving.provenance import default_base

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "special_tokens_map.json",
)
VOCAB = 30522  # the BERT uncased vocabulary of the MiniLM tokenizer

CONFIGS: dict[str, PretrainedConfig] = {
    # DistilBERT: no token type ids, other module names than BERT.
    "tiny-distilbert": DistilBertConfig(
        vocab_size=VOCAB, dim=32, n_layers=2, n_heads=2, hidden_dim=64, max_position_embeddings=128
    ),
    "bert-base": BertConfig(
        vocab_size=VOCAB,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
    ),
}


def random_encoder(kind: str, directory: Path, seed: int = 0) -> Path:
    """Write an encoder of ``kind`` (a key of CONFIGS) with random weights to ``directory``."""
    torch.manual_seed(seed)
    model = AutoModel.from_config(CONFIGS[kind])  # type: ignore[no-untyped-call]
    model.save_pretrained(str(directory))
    for name in TOKENIZER_FILES:
        shutil.copy(default_base() / name, directory / name)
    return directory


if __name__ == "__main__":
    print(random_encoder(sys.argv[1], Path(sys.argv[2])))
