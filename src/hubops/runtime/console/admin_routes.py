"""Admin API routes the console needs: a fresh invitation, and a plan's reported counts."""

from __future__ import annotations

from datetime import datetime

from fastapi import BackgroundTasks
from pydantic import BaseModel, Field
from sqlalchemy import delete, insert

from hubops import utc
from hubops.runtime.auth import admin_router
from hubops.runtime.console import invitations, users
from hubops.runtime.context import RuntimeDep
from hubops.runtime.db import reading, writing
from hubops.runtime.errors import NotFound
from hubops.runtime.lookups import tenant_id_or_404
from hubops.runtime.openapi import errors
from hubops.runtime.tables import plan_reports

router = admin_router("console")


class InvitationOut(BaseModel):
    email: str
    status: users.Status


@router.post(
    "/tenants/{tenant}/admins/{email}/invite",
    status_code=202,
    response_model=InvitationOut,
    responses=errors(404),
    operation_id="sendInvitation",
)
def send_invitation(
    tenant: str, email: str, runtime: RuntimeDep, after: BackgroundTasks
) -> InvitationOut:
    """E-mail the admin a fresh invitation; the link of any earlier one stops working."""
    with reading(runtime.engine) as conn:
        tenant_id = tenant_id_or_404(conn, tenant)
    if not users.want_invitation(runtime.engine, tenant_id, email):
        raise NotFound("the tenant has no such admin")
    after.add_task(invitations.send_due, runtime)
    with reading(runtime.engine) as conn:
        status = users.statuses(conn, tenant_id).get(email, "pending")
    return InvitationOut(email=email, status=status)


class PlanReportIn(BaseModel):
    """What `hubops plan --report` found for the tenant at the revision it planned from."""

    revision: int = Field(ge=0)
    add: int = Field(ge=0)
    change: int = Field(ge=0)
    destroy: int = Field(ge=0)


class PlanReportOut(PlanReportIn):
    checkedAt: datetime


@router.post(
    "/tenants/{tenant}/plan-report",
    response_model=PlanReportOut,
    responses=errors(404),
    operation_id="reportPlan",
)
def report_plan(tenant: str, report: PlanReportIn, runtime: RuntimeDep) -> PlanReportOut:
    """Keep a plan's counts, shown on the console's tenants page as drifted or in sync."""
    now = utc.now()
    with writing(runtime.engine) as conn:
        tenant_id = tenant_id_or_404(conn, tenant)
        conn.execute(delete(plan_reports).where(plan_reports.c.tenant_id == tenant_id))
        conn.execute(
            insert(plan_reports).values(tenant_id=tenant_id, checked_at=now, **report.model_dump())
        )
    return PlanReportOut(checkedAt=now, **report.model_dump())
