"""Rerank APIs: Cohere and Voyage through their SDKs, the Cohere-style HTTP APIs through httpx."""
