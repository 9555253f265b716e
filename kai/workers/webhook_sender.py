"""Sends webhook deliveries: claims due ones from the outbox, POSTs each signed through
the egress client, and records what the endpoint answered. Runs in every `kai worker`,
and in `kai serve` when it runs tasks itself (the embedded setup)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from datetime import datetime

import httpx
from cryptography.exceptions import InvalidTag

from kai.egress.client import egress_client
from kai.egress.policy import EgressPolicy, EgressRefused
from kai.models.base import utcnow
from kai.models.webhook import DeliveryState
from kai.observability.metrics import (
    WEBHOOK_ATTEMPTS,
    WEBHOOK_DELIVERIES,
    WEBHOOK_LAG_SECONDS,
)
from kai.services.shared import Services
from kai.services.webhook_delivery import Claimed, DeliveryQueue, Outcome
from kai.services.webhook_secrets import SecretBox, signed_headers

log = logging.getLogger(__name__)

# What is read of an answer's body: enough to end the exchange, never shown to anyone.
ANSWER_BYTES = 1024


class WebhookSender:
    def __init__(
        self,
        *,
        queue: DeliveryQueue,
        box: SecretBox,
        egress: EgressPolicy,
        timeout_seconds: float,
        concurrency: int,
        endpoint_concurrency: int,
        owner_concurrency: int,
        poll_seconds: float,
    ):
        self._queue = queue
        self._box = box
        # Redirects are not followed: a 3xx is an answer like any other that is not 2xx.
        self._client = egress_client(egress, timeout=httpx.Timeout(timeout_seconds))
        self._concurrency = concurrency
        self._endpoint_concurrency = endpoint_concurrency
        self._owner_concurrency = owner_concurrency
        self._poll = poll_seconds
        self._in_flight: set[asyncio.Task[None]] = set()
        self._per_endpoint: Counter[str] = Counter()
        self._per_owner: Counter[str] = Counter()
        # Set when an attempt ends: its room, and the next event of its agent (which waited
        # for it, in seq order), are claimed at once rather than at the next look.
        self._ended = asyncio.Event()
        self._stopping = False

    async def run(self) -> None:
        """Until cancelled; an outage of the database is waited out, not fatal."""
        try:
            while True:
                room = self._concurrency - len(self._in_flight)
                claimed: list[Claimed] = []
                if room > 0:
                    busy = {
                        webhook
                        for webhook, count in self._per_endpoint.items()
                        if count >= self._endpoint_concurrency
                    }
                    try:
                        claimed = await self._queue.claim(
                            limit=room, busy=busy, owner_room=self._owner_room
                        )
                    except Exception as exc:
                        log.warning("could not claim webhook deliveries: %r", exc)
                for one in claimed:
                    self._start(one)
                if len(claimed) < max(room, 1):  # nothing more is due: wait for a change
                    self._ended.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._ended.wait(), self._poll)
        finally:
            await self._stop()

    def _owner_room(self, owner_id: str) -> int:
        """No user's webhooks take more than their share of the slots (Q2): one user's
        several slow endpoints leave room for everyone else's."""
        return max(0, self._owner_concurrency - self._per_owner[owner_id])

    def _start(self, claimed: Claimed) -> None:
        webhook_id, owner_id = claimed.delivery.webhook_id, claimed.owner_id
        self._per_endpoint[webhook_id] += 1
        self._per_owner[owner_id] += 1
        task = asyncio.create_task(self._attempt(claimed))
        self._in_flight.add(task)

        def done(_: asyncio.Task[None]) -> None:
            self._ended.set()
            self._in_flight.discard(task)
            for counter, key in ((self._per_endpoint, webhook_id), (self._per_owner, owner_id)):
                counter[key] -= 1
                if counter[key] <= 0:
                    del counter[key]

        task.add_done_callback(done)

    async def _attempt(self, claimed: Claimed) -> None:
        """One attempt; when it ends the delivery, the agent's next event for the same
        webhook (which waited for it) is taken on in the same task."""
        current: Claimed | None = claimed
        while current is not None:
            state = await self._attempt_one(current)
            current = None
            if state is DeliveryState.DELIVERED and not self._stopping:
                try:
                    current = await self._queue.next_in_lane(claimed)
                except Exception as exc:  # the next claim finds it
                    log.warning("could not take the next delivery: %r", exc)

    async def _attempt_one(self, claimed: Claimed) -> DeliveryState | None:
        outcome = await self.send(claimed)
        WEBHOOK_ATTEMPTS.inc()
        try:
            state = await self._queue.record(claimed, outcome)
        except Exception as exc:  # its lease runs out and it is sent again: at least once
            log.warning("could not record delivery %s: %r", claimed.delivery.id, exc)
            return None
        if state is DeliveryState.DELIVERED:
            WEBHOOK_DELIVERIES.labels("delivered").inc()
            WEBHOOK_LAG_SECONDS.observe(_lag(claimed))
        elif state is DeliveryState.FAILED:
            WEBHOOK_DELIVERIES.labels("gone" if outcome.gone else "failed").inc()
        else:
            WEBHOOK_DELIVERIES.labels("retry").inc()
        return state

    async def send(self, claimed: Claimed) -> Outcome:
        """One signed POST; what came of it, in a few words for the delivery's lastError."""
        body = json.dumps(claimed.delivery.body, separators=(",", ":")).encode()
        current = self._open(claimed.secrets[0])
        if current is None:
            # Sealed under other key material (KAI_JWT_SECRET changed since): nothing is sent
            # unsigned; its owner rotates the secret.
            return Outcome(None, "its signing secret cannot be read here: rotate it")
        # A previous secret that cannot be read is left out of the signatures.
        previous = [opened for sealed in claimed.secrets[1:] if (opened := self._open(sealed))]
        headers = signed_headers(
            delivery_id=claimed.delivery.id,
            timestamp=utcnow(),
            body=body,
            secrets_in_use=[current, *previous],
        )
        try:
            async with self._client.stream(
                "POST", claimed.url, content=body, headers=headers
            ) as answer:
                read = 0
                async for chunk in answer.aiter_raw():
                    read += len(chunk)
                    if read >= ANSWER_BYTES:
                        break
                status = answer.status_code
        except EgressRefused as exc:
            return Outcome(None, f"refused by the egress policy: {exc}")
        except httpx.TimeoutException:
            return Outcome(None, "timed out")
        except httpx.HTTPError as exc:
            return Outcome(None, f"could not connect ({type(exc).__name__})")
        if 200 <= status < 300:
            return Outcome(status, None)
        return Outcome(status, f"answered HTTP {status}")

    def _open(self, sealed: str) -> str | None:
        try:
            return self._box.open(sealed)
        except (InvalidTag, ValueError):
            return None

    async def _stop(self) -> None:
        """In-flight attempts get their timeout to finish; the rest are sent again later."""
        self._stopping = True
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=15)
        for task in list(self._in_flight):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._client.aclose()


def sender_for(services: Services) -> WebhookSender:
    settings = services.settings
    return WebhookSender(
        queue=services.webhook_deliveries,
        box=services.webhooks.box,
        egress=EgressPolicy(settings.resolved_egress_allowed_networks),
        timeout_seconds=settings.webhook_timeout_seconds,
        concurrency=settings.webhook_concurrency,
        endpoint_concurrency=settings.webhook_endpoint_concurrency,
        owner_concurrency=settings.webhook_owner_concurrency,
        poll_seconds=settings.webhook_poll_seconds,
    )


def _lag(claimed: Claimed) -> float:
    """From the event to its delivery."""
    stamp = claimed.delivery.body.get("timestamp")
    if not isinstance(stamp, str):
        return 0.0
    return max(0.0, (utcnow() - datetime.fromisoformat(stamp)).total_seconds())
