"""LLM rerankers: causal-LM yes/no scoring and listwise (RankGPT) permutations."""
