"""Spoiling a signed link's token the way a test means to: a change the signature check must notice."""

from __future__ import annotations


def with_a_changed_signature(token: str) -> str:
    """The token with its signature's first character changed.

    Not the last: the last base64 character of a signature carries padding bits, so changing it may
    decode to the very same signature (about once in 1,100 keys, measured), and a test built on that fails
    now and then.
    """
    body, signature = token.rsplit(".", 1)
    return f"{body}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"
