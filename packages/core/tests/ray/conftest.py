"""One local Ray instance (2 CPUs) for the few Ray tests; skipped where ray is not installed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'rankwise[ray]')")


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    # Ray Serve kills an HTTP proxy that is not ready within 5 s (health checks: 10 s). On a busy 2-core machine
    # a new proxy process can take longer to import and start (seen: ActorDiedError from serve.start in a
    # fresh-clone CI run while a benchmark kept both cores busy), so the tests give it minutes instead. Set
    # before ray.init: the local cluster's processes, the Serve controller among them, inherit them.
    os.environ.setdefault("RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S", "120")
    os.environ.setdefault("RAY_SERVE_PROXY_HEALTH_CHECK_TIMEOUT_S", "60")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:
        yield ray
    finally:
        ray.shutdown()
