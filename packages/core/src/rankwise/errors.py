"""Exceptions raised by rankwise. Each names what was wrong and what to do."""

from __future__ import annotations


class RankwiseError(Exception):
    """Base class of every error rankwise raises on purpose."""


class UnknownModelSpecError(RankwiseError, ValueError):
    """A model spec names a backend kind that rankwise does not know."""


class MissingDependencyError(RankwiseError, ImportError):
    """A backend needs an optional package that is not installed."""


class BackendError(RankwiseError, RuntimeError):
    """A backend failed to score (after its retries, for remote backends).

    ``backend`` names the backend that failed; ``retryable`` says whether the
    failure was transient (a 429, a 5xx, a timeout) rather than a bad request.
    """

    def __init__(self, message: str, *, backend: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.backend = backend
        self.retryable = retryable


class MissingApiKeyError(RankwiseError, ValueError):
    """A remote backend needs an API key and none was given (``api_key=`` or its environment variables)."""
