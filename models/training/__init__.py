"""Training: fine-tuning, evaluation, ONNX export and quantization, the model card (torch)."""
