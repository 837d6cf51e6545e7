"""`backorder keys rotate`: every stored secret re-encrypted with the newest key, or none."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from connector.cli import main
from connector.crypto import Vault
from connector.models import Channel
from connector.services import channels, merchants

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def cli(monkeypatch, tmp_path, database_url, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("APP_ENV", raising=False)

    def run(*args: str, keys: str) -> tuple[int, dict]:
        monkeypatch.setenv("ENCRYPTION_KEY", keys)
        code = main([*args, "--json"])
        lines = capsys.readouterr().out.strip().splitlines()
        return code, json.loads(lines[-1])

    return run


@pytest.fixture
def stored(new_uow) -> dict[str, str]:
    """Two channels whose credentials and webhook secrets were encrypted with the old key."""
    vault = Vault([OLD])
    merchant = merchants.create_merchant(new_uow(), "Acme")
    channels.add_channel(
        new_uow(),
        vault,
        merchant,
        channels.ShopifyConnection("a.myshopify.com", "shpat_1", webhook_secret="whsec1"),
    )
    channels.add_channel(
        new_uow(), vault, merchant, channels.WooCommerceConnection("https://b.example", "ck_2", "cs_2")
    )
    return snapshot(new_uow)


def snapshot(new_uow) -> dict[str, str]:
    with new_uow() as uow:
        rows = uow.session.scalars(select(Channel).order_by(Channel.id)).all()
        return {
            f"{row.id}:{name}": getattr(row, name)
            for row in rows
            for name in ("credentials_encrypted", "webhook_secret_encrypted")
            if getattr(row, name)
        }


def test_rotation_re_encrypts_every_secret_so_the_old_key_can_go(cli, stored, new_uow):
    code, result = cli("keys", "rotate", keys=f"{NEW},{OLD}")
    assert code == 0
    assert result == {"rotated": 3, "keys": 2}
    after = snapshot(new_uow)
    assert after.keys() == stored.keys()
    newest_only = Vault([NEW])
    for name, token in after.items():
        assert token != stored[name]
        assert newest_only.decrypt(token) == Vault([OLD]).decrypt(stored[name])


def test_rotation_with_the_old_key_missing_fails_and_changes_nothing(cli, stored, new_uow):
    code, result = cli("keys", "rotate", keys=NEW)
    assert code == 1
    assert "does not decrypt" in result["error"] and "nothing was rotated" in result["error"]
    assert snapshot(new_uow) == stored
