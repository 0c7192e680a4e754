"""Local transformer encoders: cross-encoders (torch, ONNX), bi-encoders, and their caches."""
