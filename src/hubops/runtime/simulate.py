"""`POST /admin/v1/tenants/{name}/orders`: a customer order, simulated by an operator.

Orders normally come from the commerce platform; the runtime has no
storefront, so this admin route is how people (and tests) make orders
that partners then read, move along and receive webhooks for.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, status
from sqlalchemy import select

from hubops.runtime.auth import require_admin
from hubops.runtime.context import RuntimeDep
from hubops.runtime.db import reading
from hubops.runtime.errors import TenantNotFound
from hubops.runtime.openapi import errors
from hubops.runtime.partner.models import Order, OrderIn
from hubops.runtime.partner.orders import create_order
from hubops.runtime.tables import tenants

router = APIRouter(
    prefix="/admin/v1",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=errors(401),
)


@router.post(
    "/tenants/{name}/orders",
    response_model=Order,
    status_code=status.HTTP_201_CREATED,
    responses=errors(404, 409),
    operation_id="simulateOrder",
)
def simulate_order(name: str, body: OrderIn, runtime: RuntimeDep) -> Order:
    """Create a RECEIVED order in one of the tenant's stores; emits order.created.

    An order naming a `retailer` is refused (409) unless that retailer's connection is approved.
    """
    with reading(runtime.engine) as conn:
        tenant_id = conn.execute(select(tenants.c.id).where(tenants.c.name == name)).scalar()
    if tenant_id is None:
        raise TenantNotFound(f'the runtime holds no tenant "{name}"', {"tenant": name})
    return create_order(runtime.engine, int(tenant_id), body)
