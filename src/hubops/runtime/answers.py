"""A wire model answered as JSON, serialized once.

A route that returns a model has FastAPI validate it again against the
route's `response_model` and then encode it: for a page of 50 orders that
second pass cost as much as reading them. The hot read routes build their
model from validated rows already, so they answer `json(model)` instead
(pydantic's own serializer, in one step); the route keeps `response_model`
for the OpenAPI document.
"""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel


def json(model: BaseModel, status_code: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code, media_type="application/json")
