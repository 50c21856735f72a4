"""Names shared by export and inference: graph inputs and outputs, variant file names."""

from __future__ import annotations

INPUTS: tuple[str, ...] = ("input_ids", "attention_mask")
OUTPUTS: tuple[str, ...] = ("sentiment_probs", "topic_probs")
VARIANT_FILES: dict[str, str] = {
    "fp32": "model.onnx",
    "int8": "model.int8.onnx",
    "fp16": "model.fp16.onnx",
}
