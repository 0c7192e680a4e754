"""Speed benchmarks: rankwise's cross-encoder modes against the framework-native rerankers on a CPU."""
