"""`backorder keys rotate`: re-encrypt every stored secret with the newest ENCRYPTION_KEY.

Rotation: put the new key first in ENCRYPTION_KEY (`new,old`), run `backorder keys rotate`, then drop
the old key. Until the old key is dropped both decrypt, so the service keeps running throughout.
"""

from __future__ import annotations

import argparse

from cryptography.fernet import InvalidToken
from sqlalchemy import select

from connector.cli.context import Context, Outcome
from connector.crypto import UndecryptableSecret, Vault
from connector.db import UnitOfWork
from connector.models import Channel

# Every encrypted column: (model, attribute). A new encrypted column belongs here too.
ENCRYPTED = ((Channel, "credentials_encrypted"), (Channel, "webhook_secret_encrypted"))


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    keys = sub.add_parser("keys", help="encryption keys").add_subparsers(dest="keys_command", required=True)
    rotate = keys.add_parser(
        "rotate", parents=[common], help="re-encrypt every stored secret with the newest ENCRYPTION_KEY"
    )
    rotate.set_defaults(handler=rotate_keys)


def rotate_keys(args: argparse.Namespace, ctx: Context) -> Outcome:
    count = rotate_stored_secrets(ctx.uow(), ctx.vault)
    text = (
        f"{count} stored secret(s) re-encrypted with the first ENCRYPTION_KEY; older keys can now be removed"
    )
    return Outcome({"rotated": count, "keys": len(ctx.settings.encryption_keys)}, text)


def rotate_stored_secrets(uow: UnitOfWork, vault: Vault) -> int:
    """Re-encrypt every secret in one transaction: all are rotated, or (one failing) none."""
    rotated = 0
    with uow:
        for model, attribute in ENCRYPTED:
            column = getattr(model, attribute)
            for row in uow.session.scalars(select(model).where(column.is_not(None)).order_by(model.id)):
                try:
                    setattr(row, attribute, vault.rotate(getattr(row, attribute)))
                except InvalidToken:
                    raise UndecryptableSecret(
                        f"{model.__tablename__} {row.id}: {attribute} does not decrypt with any ENCRYPTION_KEY;"
                        " nothing was rotated"
                    ) from None
                rotated += 1
        uow.commit()
    return rotated
