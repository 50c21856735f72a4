"""Serving: the Scorer (tokenizer + ONNX Runtime session), the registry, hot swap.

Never imports torch or transformers (the score worker loads this and nothing heavier).
"""
