"""`POST /admin/v1/tenants/{name}/orders`: a customer order, simulated by an operator.

Orders normally come from the commerce platform; the runtime has no
storefront, so this admin route is how people (and tests) make orders
that partners then read, move along and receive webhooks for.
"""

from __future__ import annotations

from fastapi import status

from hubops.runtime.auth import admin_router
from hubops.runtime.context import RuntimeDep
from hubops.runtime.db import reading
from hubops.runtime.lookups import tenant_id_or_404
from hubops.runtime.openapi import errors
from hubops.runtime.partner.models import Order, OrderIn
from hubops.runtime.partner.orders import create_order

router = admin_router("admin")


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
        tenant_id = tenant_id_or_404(conn, name)
    return create_order(runtime.engine, tenant_id, body)
