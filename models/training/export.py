"""Checkpoint → ONNX (both heads in one graph): fp32, INT8 for CPU, fp16 for GPU, each verified.

Imports torch (the ``train`` extra). The graph outputs probabilities, so the Scorer needs no
softmax of its own and every variant is checked on the same footing.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.transformers.float16 import convert_float_to_float16
from onnxruntime.transformers.optimizer import optimize_model
from torch import nn
from transformers import AutoTokenizer

from models.exceptions import ModelError
from models.serving.variants import INPUTS, OUTPUTS, VARIANT_FILES
from models.training.network import TwoHeadClassifier

# Texts for the equivalence check; the MIT-licensed Twitter style, never PhraseBank.
PROBE_TEXTS = [
    "$AAPL beats on earnings, raises guidance for the full year",
    "Fed signals it will keep rates higher for longer as inflation stays sticky",
    "Oil slides 4% as OPEC+ output talks stall",
    "Company X announces layoffs of 10% of staff amid weak demand",
    "Bitcoin steadies after volatile week",
    "Stocks close mixed; Nasdaq edges up",
    "Bank shares tumble after regional lender warns on deposits https://t.co/abc",
    "Shareholders approve dividend increase",
]
# The FFN down-projections (BERT, MPNet, RoBERTa: layer.N/output/dense; DistilBERT: ffn/lin2)
# of the lower half of the layers stay float in the INT8 graph: their input, after GELU, has
# the widest, most lopsided range of any MatMul, and an early error flows through every later
# layer. On minilm-2head-v5 (2,901 dev texts, AVX2), label agreement with fp32 (sentiment,
# topic): all INT8 97.8%, 97.3%; layers 0-2 float 98.3%, 97.7% (28 MB not 23, 0.88x the
# docs/s); all six float 98.4%, 97.7% (33 MB, about 0.75x); layers 3-5 float 97.9%, 97.3%.
FFN_DOWN = re.compile(r"layer\.(\d+)/(output/dense|ffn/lin2)/MatMul$")
# Tolerances: fp32 must match PyTorch closely; quantized variants may drift but rarely flip.
FP32_MAX_ABS = 1e-4
LOSSY_MAX_ABS = 0.25
LOSSY_MIN_AGREEMENT = 0.75


class _ProbsModule(nn.Module):
    def __init__(self, model: TwoHeadClassifier) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        sentiment, topic = self.model(input_ids, attention_mask)
        return sentiment.softmax(-1), topic.softmax(-1)


def _probe_inputs(tokenizer: Any, max_length: int) -> dict[str, np.ndarray]:
    enc = tokenizer(
        PROBE_TEXTS, truncation=True, max_length=max_length, padding=True, return_tensors="np"
    )
    return {name: enc[name].astype(np.int64) for name in INPUTS}


def _run(path: Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return [np.asarray(x, dtype=np.float32) for x in session.run(list(OUTPUTS), feeds)]


def _check(name: str, got: list[np.ndarray], want: list[np.ndarray], lossy: bool) -> dict[str, Any]:
    diff = max(float(np.abs(g - w).max()) for g, w in zip(got, want, strict=True))
    agree = float(
        np.mean([(g.argmax(-1) == w.argmax(-1)).mean() for g, w in zip(got, want, strict=True)])
    )
    ok = (diff <= LOSSY_MAX_ABS and agree >= LOSSY_MIN_AGREEMENT) if lossy else diff <= FP32_MAX_ABS
    if not ok:
        raise ModelError(
            f"ONNX variant {name} disagrees with PyTorch: max |Δp| = {diff:.5f}, "
            f"label agreement {agree:.2f}"
        )
    return {"max_abs_diff": round(diff, 6), "label_agreement": round(agree, 4)}


def _encoder_shape(model: TwoHeadClassifier) -> tuple[int, int]:
    config = model.encoder.config
    return int(config.num_attention_heads), int(config.hidden_size)


def _float_in_int8(graph: onnx.ModelProto) -> list[str]:
    """The nodes the INT8 variant keeps in float (see ``FFN_DOWN``)."""
    found = [(n.name, m) for n in graph.graph.node if (m := FFN_DOWN.search(n.name))]
    layers = 1 + max((int(m.group(1)) for _, m in found), default=-1)
    return [name for name, m in found if int(m.group(1)) < (layers + 1) // 2]


def export(
    checkpoint: Path, out_dir: Path, variants: tuple[str, ...] = tuple(VARIANT_FILES)
) -> dict[str, Any]:
    """Write the ONNX variants and tokenizer into ``out_dir``; return the verification results."""
    # Eager attention exports as plain MatMul/Softmax, which ONNX Runtime fuses into Attention.
    model, meta = TwoHeadClassifier.load(checkpoint, attention="eager")
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(str(checkpoint))
    out_dir.mkdir(parents=True, exist_ok=True)
    feeds = _probe_inputs(tokenizer, int(meta["max_length"]))
    with torch.no_grad():
        want = [
            t.numpy() for t in _ProbsModule(model)(*(torch.from_numpy(feeds[n]) for n in INPUTS))
        ]

    raw = out_dir / "model.raw.onnx"
    torch.onnx.export(
        _ProbsModule(model),
        tuple(torch.from_numpy(feeds[n]) for n in INPUTS),
        str(raw),
        input_names=list(INPUTS),
        output_names=list(OUTPUTS),
        dynamic_axes={
            **{n: {0: "batch", 1: "sequence"} for n in INPUTS},
            **{n: {0: "batch"} for n in OUTPUTS},
        },
        opset_version=17,
        dynamo=False,
    )
    heads, hidden = _encoder_shape(model)
    fp32 = out_dir / VARIANT_FILES["fp32"]
    optimized = optimize_model(str(raw), model_type="bert", num_heads=heads, hidden_size=hidden)
    optimized.save_model_to_file(str(fp32))
    raw.unlink()
    checks = {"fp32": _check("fp32", _run(fp32, feeds), want, lossy=False)}

    if "int8" in variants:
        int8 = out_dir / VARIANT_FILES["int8"]
        quantize_dynamic(
            str(fp32),
            str(int8),
            weight_type=QuantType.QInt8,
            per_channel=True,
            # 7-bit weights: x86 CPUs without VNNI (AVX2, plain AVX-512) multiply u8-by-s8 pairs
            # into a saturating int16, which full 8-bit weights overflow (an all-mpnet-base-v2
            # export flipped every probe label on an AVX2 EPYC). The file runs on any CPU.
            reduce_range=True,
            nodes_to_exclude=_float_in_int8(optimized.model),
            # Fused ops (Attention, SkipLayerNorm) defeat shape inference; their outputs are float.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        checks["int8"] = _check("int8", _run(int8, feeds), want, lossy=True)
    if "fp16" in variants:
        fp16 = out_dir / VARIANT_FILES["fp16"]
        half = convert_float_to_float16(onnx.load(str(fp32)), keep_io_types=True)
        onnx.save(half, str(fp16))
        checks["fp16"] = _check("fp16", _run(fp16, feeds), want, lossy=True)
    if "fp32" not in variants:
        fp32.unlink()
    tokenizer.save_pretrained(str(out_dir))
    for extra in ("vocab.txt", "special_tokens_map.json"):
        if (checkpoint / extra).exists() and not (out_dir / extra).exists():
            shutil.copy(checkpoint / extra, out_dir / extra)
    return {"checks": checks, "meta": meta}
