"""GET /healthz: the process answers. GET /readyz: every backing service this process is
configured to use, checked at once, each within a short timeout; the answer names the ones
that failed."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse

from kai.services.shared import Services
from kai.services.system import Outcome, checks_for, run_check


def _said(outcome: Outcome) -> str:
    return "ok" if outcome.ok else f"unreachable: {outcome.detail}"


async def readiness(services: Services) -> tuple[bool, dict[str, str]]:
    checks = checks_for(services)
    outcomes = await asyncio.gather(*(run_check(name, check) for name, check in checks.items()))
    results = dict(zip(checks, outcomes, strict=True))
    return all(o.ok for o in results.values()), {n: _said(o) for n, o in results.items()}


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    ready, checks = await readiness(request.app.state.services)
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )
