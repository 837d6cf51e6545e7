"""Secrets at rest: credentials and webhook secrets are encrypted with MultiFernet (rotatable keys)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from connector.errors import ConnectorError


class UndecryptableSecret(ConnectorError):
    """A stored secret was encrypted with a key that is no longer in ENCRYPTION_KEY."""

    status = 500
    title = "Stored secret cannot be decrypted"


class Vault:
    """Encrypts with the first key; decrypts with any, so keys can be rotated."""

    def __init__(self, keys: Sequence[str]):
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise UndecryptableSecret(
                "a stored secret does not decrypt with any ENCRYPTION_KEY; was a key removed too early?"
            ) from None

    def encrypt_json(self, value: dict[str, str]) -> str:
        return self.encrypt(json.dumps(value, sort_keys=True))

    def decrypt_json(self, token: str) -> dict[str, str]:
        return json.loads(self.decrypt(token))

    def rotate(self, token: str) -> str:
        """Re-encrypt with the newest key."""
        return self._fernet.rotate(token.encode()).decode()
