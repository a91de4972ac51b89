"""`GET /metrics`: the app's registry in Prometheus text format (OpenMetrics on request).

Bearer HUBOPS_METRICS_TOKEN when that is set (compared in constant time),
open otherwise: the figures name no tenant, but a deployment may still not
want them public. Left out of the OpenAPI document: it is for scrapers, not
for generated clients.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from hubops.runtime.auth import METRICS, bearer_token, match_token
from hubops.runtime.context import RuntimeDep

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, runtime: RuntimeDep) -> Response:
    expected = runtime.settings.metrics_token
    if (
        expected is not None
        and match_token({"metrics": expected}, bearer_token(request, METRICS)) is None
    ):
        raise METRICS.refused("the metrics token is not valid; check HUBOPS_METRICS_TOKEN")
    body, content_type = runtime.metrics.exposition(request.headers.get("accept"))
    return Response(body, headers={"content-type": content_type})
