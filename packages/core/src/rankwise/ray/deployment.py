"""`rankwise.serve`'s server as a Ray Serve deployment: N replicas behind Ray Serve's HTTP proxy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rankwise._optional import require


class RerankDeployment:
    """One replica: a `rankwise.serve.RerankService` (its own model, batching and metrics) answering every path.

    Ray Serve hands each HTTP request to ``__call__``; the answers are the ones
    ``rankwise serve`` gives (same wire formats, errors, limits).
    """

    def __init__(self, model: str, service_options: Mapping[str, Any]) -> None:
        from rankwise.serve.service import RerankService

        self.service = RerankService(model, **dict(service_options))

    async def __call__(self, request: Any) -> Any:
        responses = require("starlette.responses", extra="serve", purpose="the Ray Serve deployment")
        body = await request.body()
        reply = await self.service.handle(request.method, request.url.path, dict(request.headers), body)
        return responses.Response(reply.body, status_code=reply.status, media_type=reply.media_type)


def serve_app(
    model: str = "embedded",
    *,
    replicas: int = 1,
    num_cpus: float = 1.0,
    service_options: Mapping[str, Any] | None = None,
) -> Any:
    """A bound Ray Serve application: ``replicas`` copies of the rankwise server (``serve.run(app)`` starts it).

    >>> from ray import serve  # doctest: +SKIP
    >>> serve.start(http_options={"host": "127.0.0.1", "port": 8000})  # doctest: +SKIP
    >>> serve.run(serve_app("embedded", replicas=2), route_prefix="/")  # doctest: +SKIP
    """
    serve = require("ray.serve", extra="ray", purpose="the Ray Serve deployment")
    deployment = serve.deployment(
        RerankDeployment, name="rankwise", num_replicas=replicas, ray_actor_options={"num_cpus": num_cpus}
    )
    return deployment.bind(model, dict(service_options or {}))
