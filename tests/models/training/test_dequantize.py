"""The GPU variants of a version that has only INT8 (the shipped model): dequantized graph for
graph, so a GPU can run it, and answering as the INT8 graph does."""

from __future__ import annotations

import shutil
from pathlib import Path

import onnx
import pytest

from models.serving.benchmark import load_corpus
from models.serving.registry import SHIPPED_DIR
from models.serving.scorer import Scorer
from models.serving.variants import VARIANT_FILES
from models.training.dequantize import dequantized, write_gpu_variants

QUANTIZED = {"QAttention", "QEmbedLayerNormalization", "MatMulInteger", "DynamicQuantizeLinear"}


@pytest.fixture(scope="module")
def shipped_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    [version] = [p for p in SHIPPED_DIR.iterdir() if p.is_dir()]
    copy = tmp_path_factory.mktemp("models") / version.name
    shutil.copytree(version, copy)
    return copy


def _agreement(a: Scorer, b: Scorer, texts: list[str]) -> tuple[float, float]:
    x, y = a.score(texts), b.score(texts)
    pairs = list(zip(x, y, strict=True))
    return (sum(p.sentiment == q.sentiment for p, q in pairs) / len(pairs),
            sum(p.topic == q.topic for p, q in pairs) / len(pairs))  # fmt: skip


def test_the_shipped_model_gets_gpu_variants_that_answer_as_it_does(shipped_copy: Path) -> None:
    assert not (shipped_copy / VARIANT_FILES["fp16"]).exists()
    assert write_gpu_variants(shipped_copy) == ["fp32", "fp16"]
    assert write_gpu_variants(shipped_copy) == []  # there already: nothing to do
    graph = onnx.load(str(shipped_copy / VARIANT_FILES["fp32"])).graph
    assert not {n.op_type for n in graph.node} & QUANTIZED
    texts = load_corpus()[:300]
    int8 = Scorer(shipped_copy, device="cpu", variant="int8")
    fp32 = Scorer(shipped_copy, device="cpu", variant="fp32")
    fp16 = Scorer(shipped_copy, device="cpu", variant="fp16")
    # The same weights: only the INT8 graph's quantized activations differ.
    sentiment, topic = _agreement(int8, fp32, texts)
    assert sentiment >= 0.95 and topic >= 0.95
    sentiment, topic = _agreement(fp32, fp16, texts)
    assert sentiment >= 0.98 and topic >= 0.98


def test_a_graph_that_is_not_quantized_comes_back_unchanged_in_meaning(shipped_copy: Path) -> None:
    write_gpu_variants(shipped_copy)
    float32 = onnx.load(str(shipped_copy / VARIANT_FILES["fp32"]))
    again = dequantized(float32)
    assert [n.op_type for n in again.graph.node] == [n.op_type for n in float32.graph.node]
