"""The endpoint of bench/webhooks.py: takes POSTs, verifies each Standard Webhooks
signature with the `standardwebhooks` package, answers 204, and counts.

    python bench/_webhook_receiver.py PORT SECRET

GET /stats: {"received": n, "invalid": n, "ids": distinct webhook-ids}; POST /reset.
"""

from __future__ import annotations

import sys

import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def app(secret: str) -> Starlette:
    signer = Webhook(secret)
    counts = {"received": 0, "invalid": 0}
    ids: set[str] = set()

    async def hook(request: Request) -> Response:
        body = await request.body()
        try:
            signer.verify(body, dict(request.headers))
        except WebhookVerificationError:
            counts["invalid"] += 1
        counts["received"] += 1
        ids.add(request.headers.get("webhook-id", ""))
        return Response(status_code=204)

    async def stats(_: Request) -> Response:
        return JSONResponse({**counts, "ids": len(ids)})

    async def reset(_: Request) -> Response:
        counts.update(received=0, invalid=0)
        ids.clear()
        return Response(status_code=204)

    async def healthz(_: Request) -> Response:
        return Response(status_code=200)

    return Starlette(
        routes=[
            Route("/hook", hook, methods=["POST"]),
            Route("/stats", stats),
            Route("/reset", reset, methods=["POST"]),
            Route("/healthz", healthz),
        ]
    )


if __name__ == "__main__":
    port, secret = int(sys.argv[1]), sys.argv[2]
    uvicorn.run(app(secret), host="127.0.0.1", port=port, log_level="warning")
