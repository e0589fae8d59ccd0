"""Signed, expiring links that open one subscription without a login.

A token is ``<id>.<expiry, hex seconds>.<signature>``; the signature is an
HMAC-SHA256 with ``AGGREGATOR_SECRET_KEY`` over the link's purpose, the id,
the expiry and the subscription's random nonce. The nonce never leaves the
database, so a token cannot be made for a subscription without the key, and
a deleted subscription's links never open a later one given the same id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

Purpose = Literal["confirm", "manage", "unsubscribe"]
Verdict = Literal["valid", "expired", "invalid"]


@dataclass(frozen=True, slots=True)
class LinkToken:
    subscription_id: int
    expires: datetime
    signature: str

    @classmethod
    def parse(cls, token: str) -> LinkToken | None:
        parts = token.split(".")
        if len(parts) != 3 or not parts[0].isdigit() or len(parts[0]) > 12:
            return None
        try:
            stamp = int(parts[1], 16)
            expires = datetime.fromtimestamp(stamp, tz=UTC)
        except (ValueError, OverflowError, OSError):
            return None
        return cls(int(parts[0]), expires, parts[2])


@dataclass(frozen=True)
class SubscriptionLinks:
    """Makes and checks the links of the subscription e-mails and pages."""

    base_url: str
    secret: str
    link_days: int = 180
    confirm_hours: int = 48

    @property
    def enabled(self) -> bool:
        """Links need the operator's secret key; without one nothing is signed."""
        return bool(self.secret)

    def token(
        self, purpose: Purpose, subscription_id: int, nonce: str, now: datetime
    ) -> str:
        life = (
            timedelta(hours=self.confirm_hours)
            if purpose == "confirm"
            else timedelta(days=self.link_days)
        )
        stamp = int((now + life).timestamp())
        signature = self._sign(purpose, subscription_id, stamp, nonce)
        return f"{subscription_id}.{stamp:x}.{signature}"

    def check(
        self, purpose: Purpose, token: LinkToken, nonce: str, now: datetime
    ) -> Verdict:
        stamp = int(token.expires.timestamp())
        expected = self._sign(purpose, token.subscription_id, stamp, nonce)
        if not self.secret or not hmac.compare_digest(expected, token.signature):
            return "invalid"
        return "valid" if now < token.expires else "expired"

    def url(
        self,
        purpose: Purpose,
        subscription_id: int,
        nonce: str,
        locale: str,
        now: datetime,
    ) -> str:
        """The absolute address of a subscription page, in the reader's language."""
        token = self.token(purpose, subscription_id, nonce, now)
        path = {
            "confirm": "subscriptions/confirm",
            "manage": "subscriptions/manage",
            "unsubscribe": "subscriptions/unsubscribe",
        }[purpose]
        prefix = "" if locale == "en" else f"/{locale}"
        return f"{self.base_url.rstrip('/')}{prefix}/{path}/{token}"

    def _sign(self, purpose: str, subscription_id: int, stamp: int, nonce: str) -> str:
        message = f"{purpose}|{subscription_id}|{stamp:x}|{nonce}".encode()
        digest = hmac.new(self.secret.encode(), message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode("ascii")
