"""The GPU variants (fp32, fp16) of a version that has only its INT8 graph, as the shipped model
does: its weights dequantized back to floats, graph for graph.

ONNX Runtime's dynamic quantization writes CPU-only operators (QEmbedLayerNormalization,
QAttention, DynamicQuantizeLinear + MatMulInteger); CUDA runs the float operators they came
from (EmbedLayerNormalization, Attention, MatMul). Each quantized weight becomes
``(q - zero_point) * scale`` again, so the float graph computes with exactly the weights the
INT8 one has (the quantization's rounding stays; the activations are no longer quantized, so
it is, if anything, closer to the trained model). No torch, no training checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnxruntime.transformers.float16 import convert_float_to_float16

from models.exceptions import ModelError
from models.serving.variants import VARIANT_FILES

MS = "com.microsoft"


class _Graph:
    """The quantized graph, read once: initializers, producers, and what is rewritten."""

    def __init__(self, model: onnx.ModelProto) -> None:
        self.model = model
        self.init = {t.name: t for t in model.graph.initializer}
        self.producer = {o: n for n in model.graph.node for o in n.output}
        self.dropped: set[int] = set()
        self.added: list[onnx.NodeProto] = []
        self.new_init: list[onnx.TensorProto] = []

    def array(self, name: str) -> np.ndarray:
        if name not in self.init:
            raise ModelError(f"{name} is not a constant: cannot dequantize this graph")
        return numpy_helper.to_array(self.init[name])

    def weight(self, q: str, scale: str, zero_point: str, name: str) -> str:
        """A float initializer ``name`` = (q - zero_point) * scale."""
        values = self.array(q).astype(np.int32) - self.array(zero_point).astype(np.int32)
        floats = (values * self.array(scale).astype(np.float32)).astype(np.float32)
        self.new_init.append(numpy_helper.from_array(floats, name))
        return name

    def source(self, quantized: str) -> str:
        """The float tensor a DynamicQuantizeLinear quantized (its node is dropped)."""
        node = self.producer[quantized]
        if node.op_type != "DynamicQuantizeLinear":
            raise ModelError(f"{quantized} does not come from DynamicQuantizeLinear")
        self.dropped.add(id(node))
        return str(node.input[0])

    def drop(self, *nodes: onnx.NodeProto) -> None:
        self.dropped.update(id(n) for n in nodes)


def _attrs(node: onnx.NodeProto) -> dict[str, Any]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _consumers(graph: onnx.GraphProto, name: str) -> list[onnx.NodeProto]:
    return [n for n in graph.node if name in n.input]


def _embed(g: _Graph, node: onnx.NodeProto) -> None:
    ids, segments, *quantized = node.input[:7]
    mask = node.input[7]
    scales, zero_points = node.input[8:13], node.input[13:18]
    floats = [g.weight(q, s, z, f"{q}_dequantized")
              for q, s, z in zip(quantized, scales, zero_points, strict=True)]  # fmt: skip
    g.added.append(helper.make_node(
        "EmbedLayerNormalization", [ids, segments, *floats, mask], list(node.output),
        name=f"{node.name}_float", domain=MS, **_attrs(node),
    ))  # fmt: skip
    g.drop(node)


def _attention(g: _Graph, node: onnx.NodeProto) -> None:
    x_q, w_q, bias, _x_scale, w_scale, mask, _x_zp, w_zp = node.input[:8]
    w = g.weight(w_q, w_scale, w_zp, f"{w_q}_dequantized")
    inputs = [g.source(x_q), w, bias, mask]
    if len(node.input) > 8 and node.input[8]:
        inputs.append(node.input[8])  # past
    attention = helper.make_node("Attention", inputs, list(node.output),
                                 name=f"{node.name}_float", domain=MS, **_attrs(node))  # fmt: skip
    g.added.append(attention)
    g.drop(node)


def _matmul(g: _Graph, node: onnx.NodeProto) -> None:
    """MatMulInteger → Cast → Mul(by the two scales' product) becomes one float MatMul."""
    a_q, w_q, _a_zp, w_zp = node.input[:4]
    [cast] = _consumers(g.model.graph, node.output[0])
    [mul] = _consumers(g.model.graph, cast.output[0])
    scales = next(i for i in mul.input if i != cast.output[0])
    scale_mul = g.producer[scales]
    w_scale = next(i for i in scale_mul.input if i in g.init)
    w = g.weight(w_q, w_scale, w_zp, f"{w_q}_dequantized")
    g.added.append(helper.make_node("MatMul", [g.source(a_q), w], list(mul.output),
                                    name=f"{node.name}_float"))  # fmt: skip
    g.drop(node, cast, mul, scale_mul)


REWRITES = {"QEmbedLayerNormalization": _embed, "QAttention": _attention,
            "MatMulInteger": _matmul}  # fmt: skip


def dequantized(model: onnx.ModelProto) -> onnx.ModelProto:
    """The float32 graph of a dynamically quantized one (see the module's docstring)."""
    g = _Graph(model)
    for node in list(model.graph.node):
        rewrite = REWRITES.get(node.op_type)
        if rewrite is not None:
            rewrite(g, node)
    kept = [n for n in model.graph.node if id(n) not in g.dropped]
    nodes = _in_order([*kept, *g.added], [i.name for i in model.graph.input])
    used = {i for n in nodes for i in n.input}
    inits = [t for t in [*model.graph.initializer, *g.new_init] if t.name in used]
    graph = helper.make_graph(nodes, model.graph.name, list(model.graph.input),
                              list(model.graph.output), inits)  # fmt: skip
    out = helper.make_model(graph, opset_imports=list(model.opset_import))
    out.ir_version = model.ir_version
    leftover = {n.op_type for n in nodes} & {"DynamicQuantizeLinear", *REWRITES}
    if leftover:
        raise ModelError(f"quantized operators left after dequantizing: {sorted(leftover)}")
    onnx.checker.check_model(out)
    return out


def _in_order(nodes: Iterable[onnx.NodeProto], inputs: list[str]) -> list[onnx.NodeProto]:
    """The nodes in an order where each comes after the nodes it reads from."""
    pending = list(nodes)
    produced = {o for n in pending for o in n.output}
    ready = set(inputs)
    out: list[onnx.NodeProto] = []
    while pending:
        placed = [n for n in pending if all(not i or i in ready or i not in produced
                                            for i in n.input)]  # fmt: skip
        if not placed:
            raise ModelError("the dequantized graph has a cycle")
        out += placed
        ready.update(o for n in placed for o in n.output)
        pending = [n for n in pending if n not in placed]
    return out


def write_gpu_variants(model_dir: Path) -> list[str]:
    """Write the fp32 and fp16 variants a version lacks beside its INT8 graph; the variants
    written (none when it has them already)."""
    int8 = model_dir / VARIANT_FILES["int8"]
    missing = [v for v in ("fp32", "fp16") if not (model_dir / VARIANT_FILES[v]).exists()]
    if not missing:
        return []
    if not int8.exists():
        raise ModelError(f"{model_dir} has no {int8.name} to dequantize")
    float32 = dequantized(onnx.load(str(int8)))
    if "fp32" in missing:
        onnx.save(float32, str(model_dir / VARIANT_FILES["fp32"]))
    if "fp16" in missing:
        half = convert_float_to_float16(float32, keep_io_types=True)
        onnx.save(half, str(model_dir / VARIANT_FILES["fp16"]))
    return missing
