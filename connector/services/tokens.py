"""Support API tokens: issued once, kept only as SHA-256, revocable, scoped to one merchant."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from connector.db import UnitOfWork
from connector.errors import ConnectorError, InvalidInput, NotFound
from connector.models import ApiToken, AuditEntry

ROLES = ("support", "admin")
PREFIX = "bo_"
# Writing last_used_at on every request would make each read a write; once a minute is plenty.
TOUCH_EVERY = timedelta(minutes=1)


class Unauthorized(ConnectorError):
    status = 401
    title = "Unauthorized"


@dataclass(frozen=True)
class Caller:
    """Who is calling the API: the token's id, label, role and merchant."""

    token_id: int
    merchant_id: int
    role: str
    label: str

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"token:{self.token_id}" + (f" ({self.label})" if self.label else "")


@dataclass(frozen=True)
class IssuedToken:
    id: int
    token: str  # shown once; only its hash is stored
    role: str
    merchant_id: int


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    uow: UnitOfWork, merchant_id: int, role: str, *, label: str = "", now: datetime
) -> IssuedToken:
    """Issue a token for `merchant_id`; the plain value is returned here and never again."""
    if role not in ROLES:
        raise InvalidInput(f"--role must be one of {', '.join(ROLES)}, got {role!r}")
    plain = PREFIX + secrets.token_urlsafe(32)
    with uow:
        row = ApiToken(
            merchant_id=merchant_id,
            role=role,
            token_hash=hash_token(plain),
            label=label[:200],
            created_at=now,
        )
        uow.session.add(row)
        uow.session.flush()
        _audit(uow, merchant_id, "token.created", row, now)
        issued = IssuedToken(row.id, plain, role, merchant_id)
        uow.commit()
    return issued


def revoke_token(uow: UnitOfWork, merchant_id: int, token_id: int, *, now: datetime) -> bool:
    """Revoke one of the merchant's tokens; False when it was already revoked."""
    with uow:
        row = uow.session.get(ApiToken, token_id, with_for_update=True)
        if row is None or row.merchant_id != merchant_id:
            raise NotFound(f"merchant {merchant_id} has no token {token_id}")
        if row.revoked_at is not None:
            return False
        row.revoked_at = now
        _audit(uow, merchant_id, "token.revoked", row, now)
        uow.commit()
    return True


def list_tokens(uow: UnitOfWork, merchant_id: int) -> list[dict[str, object]]:
    """The merchant's tokens without their secrets."""
    rows = uow.session.scalars(
        select(ApiToken).where(ApiToken.merchant_id == merchant_id).order_by(ApiToken.id)
    )
    return [
        {
            "id": row.id,
            "role": row.role,
            "label": row.label,
            "created_at": row.created_at.isoformat(),
            "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
            "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
        }
        for row in rows
    ]


def authenticate(uow: UnitOfWork, presented: str | None, *, now: datetime) -> Caller:
    """The caller behind a bearer token; Unauthorized when missing, unknown or revoked."""
    if not presented:
        raise Unauthorized("missing bearer token: send Authorization: Bearer <token>")
    digest = hash_token(presented)
    with uow:
        row = uow.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
        # The lookup is by hash, so timing says nothing about the token; compare anyway for clarity.
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            raise Unauthorized("unknown token")
        if row.revoked_at is not None:
            raise Unauthorized("this token was revoked")
        caller = Caller(row.id, row.merchant_id, row.role, row.label)
        if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
            row.last_used_at = now
            uow.commit()
    return caller


def _audit(uow: UnitOfWork, merchant_id: int, action: str, row: ApiToken, now: datetime) -> None:
    uow.session.add(
        AuditEntry(
            merchant_id=merchant_id,
            actor="cli",
            action=action,
            subject=f"token:{row.id}",
            details={"role": row.role, "label": row.label},
            created_at=now,
        )
    )
