"""The WebSub callback: hubs verify subscriptions and push content here.

What a valid push holds is stored by the ``on_push`` callable the conductor
hands to ``create_app``; this module only checks who is talking.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from publisher.context import PortalContext, portal
from storage.websub import (
    deny_subscription,
    find_subscription,
    is_awaiting_verification,
    verify_subscription,
)

logger = logging.getLogger(__name__)

router = APIRouter()

Context = Annotated[PortalContext, Depends(portal)]
PushIngest = Callable[[str, bytes, Mapping[str, str]], None]

# WebSub 7 (authenticated content distribution) names these four.
SIGNATURE_METHODS = {"sha1", "sha256", "sha384", "sha512"}


@router.get("/websub/{source_id}", name="websub_verify")
def verify_intent(
    source_id: str,
    context: Context,
    mode: Annotated[str, Query(alias="hub.mode", max_length=20)] = "",
    topic: Annotated[str, Query(alias="hub.topic", max_length=2000)] = "",
    challenge: Annotated[str, Query(alias="hub.challenge", max_length=1000)] = "",
    lease: Annotated[str, Query(alias="hub.lease_seconds", max_length=12)] = "",
    reason: Annotated[str, Query(alias="hub.reason", max_length=1000)] = "",
) -> Response:
    """Confirm a subscription we asked for (WebSub 5.3), or note a denial."""
    # Limitation: the portal never asks to unsubscribe, so every unsubscribe
    # verification is refused; a source that leaves the registry keeps its
    # subscription until the hub's lease runs out (its pushes are ignored).
    now = datetime.now(UTC)
    with context.sessions() as session:
        subscription = find_subscription(session, source_id)
        if subscription is None or not topic or topic != subscription.topic_url:
            return Response(status_code=404)

        if mode == "denied":
            deny_subscription(subscription, reason)
            session.commit()
            logger.warning(
                "WebSub hub denied the subscription; the source is polled as usual",
                extra={"source_id": source_id, "url": topic, "error": reason},
            )
            return Response(status_code=200)

        if mode != "subscribe" or not challenge:
            return Response(status_code=404)
        if not is_awaiting_verification(subscription):
            return Response(status_code=404)

        granted = int(lease) if lease.isdigit() else subscription.lease_seconds
        verify_subscription(subscription, granted, now)
        session.commit()

    logger.info(
        "WebSub subscription verified",
        extra={"source_id": source_id, "url": topic, "lease_seconds": granted},
    )
    return PlainTextResponse(challenge)


@router.post("/websub/{source_id}", name="websub_push")
async def receive_push(
    source_id: str, request: Request, background: BackgroundTasks, context: Context
) -> Response:
    """Take a hub's content push (WebSub 7); store it only if it is signed."""
    body = await _read_capped(request, context.config.max_push_bytes)
    if body is None:
        return Response(status_code=413)

    secret = await run_in_threadpool(_push_secret, context, source_id)
    if secret is None:
        # WebSub 7: 410 Gone tells the hub this subscription is no more.
        return Response(status_code=410)

    signature = request.headers.get("x-hub-signature", "")
    if not is_signed(body, signature, secret):
        # WebSub 7: a bad signature is still acknowledged with a 2xx, so the
        # sender learns nothing, and the content is dropped.
        logger.warning(
            "WebSub push with a missing or wrong signature was ignored",
            extra={"source_id": source_id, "signed": bool(signature)},
        )
        return Response(status_code=202)

    ingest: PushIngest = request.app.state.push_ingest
    headers = {"content-type": request.headers.get("content-type", "")}
    # The hub is answered at once; storing happens after the response.
    background.add_task(ingest, source_id, body, headers)
    return Response(status_code=202)


def is_signed(body: bytes, signature: str, secret: str) -> bool:
    """Whether ``X-Hub-Signature`` is ``method=hex`` HMAC of ``body``."""
    method, _, given = signature.strip().partition("=")
    method = method.strip().lower()
    if method not in SIGNATURE_METHODS or not given:
        return False
    expected = hmac.new(secret.encode("utf-8"), body, getattr(hashlib, method))
    # Bytes, not str: compare_digest refuses non-ASCII text, which a forged
    # header may hold.
    return hmac.compare_digest(
        expected.hexdigest().encode("ascii"), given.strip().lower().encode("utf-8")
    )


def _push_secret(context: PortalContext, source_id: str) -> str | None:
    with context.sessions() as session:
        subscription = find_subscription(session, source_id)
        if subscription is None or subscription.state not in ("pending", "active"):
            return None
        return subscription.secret


async def _read_capped(request: Request, cap: int) -> bytes | None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        return None
    chunks = bytearray()
    async for chunk in request.stream():
        chunks.extend(chunk)
        if len(chunks) > cap:
            return None
    return bytes(chunks)
