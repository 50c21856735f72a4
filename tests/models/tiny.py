"""A tiny two-head ONNX model and word-level tokenizer, built without torch, for fast tests.

Each word's embedding holds its votes: three sentiment logits then twenty topic logits; the
model mean-pools the embeddings over the attention mask and takes a softmax per head. So
"shares slump" is negative and "fed rates" is about central banks, by construction.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic
from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
from tokenizers.models import WordLevel

from models.serving.labels import SENTIMENT_LABELS, TOPIC_LABELS
from models.serving.variants import INPUTS, OUTPUTS, VARIANT_FILES

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
SENTIMENT_WORDS = {
    "good": "positive", "great": "positive", "beats": "positive", "soars": "positive",
    "bad": "negative", "awful": "negative", "slump": "negative", "misses": "negative",
    "flat": "neutral", "steady": "neutral",
}  # fmt: skip
TOPIC_WORDS = {
    "fed": "Fed | Central Banks", "rates": "Fed | Central Banks",
    "oil": "Energy | Oil", "crude": "Energy | Oil",
    "earnings": "Earnings", "quarter": "Earnings",
    "dividend": "Dividend", "ipo": "IPO",
}  # fmt: skip
FILLER = ["the", "shares", "company", "today", "market", "stock", "news", "a", "of", "on"]
VOCAB = SPECIAL + list(SENTIMENT_WORDS) + list(TOPIC_WORDS) + FILLER
DIM = len(SENTIMENT_LABELS) + len(TOPIC_LABELS)


def _embeddings(invert_sentiment: bool) -> np.ndarray:
    table = np.zeros((len(VOCAB), DIM), dtype=np.float32)
    neutral = SENTIMENT_LABELS.index("neutral")
    general = len(SENTIMENT_LABELS) + TOPIC_LABELS.index("General News | Opinion")
    for i, word in enumerate(VOCAB):
        table[i, neutral] = 0.5
        table[i, general] = 0.5
        if word in SENTIMENT_WORDS:
            label = SENTIMENT_WORDS[word]
            if invert_sentiment and label != "neutral":
                label = "negative" if label == "positive" else "positive"
            table[i, SENTIMENT_LABELS.index(label)] = 8.0
        if word in TOPIC_WORDS:
            table[i, len(SENTIMENT_LABELS) + TOPIC_LABELS.index(TOPIC_WORDS[word])] = 8.0
    return table


def _graph(invert_sentiment: bool) -> onnx.ModelProto:
    n_s = len(SENTIMENT_LABELS)
    w_s = np.zeros((DIM, n_s), np.float32)
    w_s[:n_s, :n_s] = np.eye(n_s)
    w_t = np.zeros((DIM, len(TOPIC_LABELS)), np.float32)
    w_t[n_s:, :] = np.eye(len(TOPIC_LABELS))
    inits = [
        numpy_helper.from_array(_embeddings(invert_sentiment), "emb"),
        numpy_helper.from_array(w_s, "w_s"),
        numpy_helper.from_array(w_t, "w_t"),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
        numpy_helper.from_array(np.array([2], np.int64), "axis2"),
        numpy_helper.from_array(np.array(1e-6, np.float32), "eps"),
    ]
    nodes = [
        helper.make_node("Gather", ["emb", INPUTS[0]], ["tok"]),
        helper.make_node("Cast", [INPUTS[1]], ["maskf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["maskf", "axis2"], ["mask3"]),
        helper.make_node("Mul", ["tok", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis1"], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["mask3", "axis1"], ["count"], keepdims=0),
        helper.make_node("Max", ["count", "eps"], ["safe"]),
        helper.make_node("Div", ["summed", "safe"], ["pooled"]),
        helper.make_node("MatMul", ["pooled", "w_s"], ["s_logits"]),
        helper.make_node("MatMul", ["pooled", "w_t"], ["t_logits"]),
        helper.make_node("Softmax", ["s_logits"], [OUTPUTS[0]], axis=-1),
        helper.make_node("Softmax", ["t_logits"], [OUTPUTS[1]], axis=-1),
    ]
    ins = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"]) for n in INPUTS]
    outs = [
        helper.make_tensor_value_info(OUTPUTS[0], TensorProto.FLOAT, ["batch", n_s]),
        helper.make_tensor_value_info(OUTPUTS[1], TensorProto.FLOAT, ["batch", len(TOPIC_LABELS)]),
    ]
    graph = helper.make_graph(nodes, "tiny", ins, outs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _tokenizer() -> Tokenizer:
    tok = Tokenizer(WordLevel({w: i for i, w in enumerate(VOCAB)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    return tok


def build(
    directory: Path,
    version: str = "tiny-1",
    *,
    invert_sentiment: bool = False,
    variants: tuple[str, ...] = ("fp32", "int8"),
) -> Path:
    """Write a complete model version directory (card, tokenizer, ONNX variants)."""
    directory.mkdir(parents=True, exist_ok=True)
    fp32 = directory / VARIANT_FILES["fp32"]
    onnx.save(_graph(invert_sentiment), str(fp32))
    if "int8" in variants:
        quantize_dynamic(
            str(fp32), str(directory / VARIANT_FILES["int8"]), weight_type=QuantType.QInt8
        )
    if "fp32" not in variants:
        fp32.unlink()
    _tokenizer().save(str(directory / "tokenizer.json"))
    (directory / "tokenizer_config.json").write_text(json.dumps({"pad_token": "[PAD]"}))
    card = {
        "version": version,
        "base_name": "tiny",
        "sentiment_labels": list(SENTIMENT_LABELS),
        "topic_labels": list(TOPIC_LABELS),
        "max_length": 32,
    }
    (directory / "card.json").write_text(json.dumps(card))
    return directory
