"""Settings read once from the environment, validated at start."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from connector.errors import ConfigError

ENVIRONMENTS = ("development", "test", "production")
DEFAULT_API_VERSION = "2026-10"
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment."""

    database_url: str
    secret_key: str
    encryption_keys: tuple[str, ...]
    app_url: str
    app_env: str
    var_dir: Path
    shopify_api_key: str | None
    shopify_api_secret: str | None
    shopify_api_version: str
    smtp_url: str | None
    log_level: str
    keep_days: int = 14  # processed webhook deliveries and confirmed pushes are deleted after this

    @property
    def production(self) -> bool:
        return self.app_env == "production"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate settings; raise ConfigError naming the first bad variable."""
        env = os.environ if env is None else env
        app_env = _get(env, "APP_ENV") or "development"
        if app_env not in ENVIRONMENTS:
            raise ConfigError("APP_ENV", f"must be one of {', '.join(ENVIRONMENTS)}, got {app_env!r}")
        production = app_env == "production"
        var_dir = Path(_get(env, "VAR_DIR") or "var").resolve()

        database_url = _get(env, "DATABASE_URL") or f"sqlite:///{var_dir / 'backorder.sqlite3'}"
        database_url = _check_database_url(database_url)

        secret_key = _get(env, "SECRET_KEY")
        encryption_key = _get(env, "ENCRYPTION_KEY")
        if production:
            if not secret_key:
                raise ConfigError("SECRET_KEY", "is required when APP_ENV=production")
            if not encryption_key:
                raise ConfigError("ENCRYPTION_KEY", "is required when APP_ENV=production")
        secret_key = secret_key or _kept_secret(var_dir / "secret_key", secrets.token_urlsafe(48))
        if len(secret_key) < 16:
            raise ConfigError("SECRET_KEY", "must be at least 16 characters")
        encryption_key = encryption_key or _kept_secret(
            var_dir / "encryption_key", Fernet.generate_key().decode()
        )
        keys = tuple(k.strip() for k in encryption_key.split(",") if k.strip())
        for key in keys:
            try:
                Fernet(key)
            except ValueError:
                raise ConfigError(
                    "ENCRYPTION_KEY", "must be comma-separated urlsafe base64 Fernet keys of 32 bytes"
                ) from None

        app_url = (_get(env, "APP_URL") or "http://127.0.0.1:8000").rstrip("/")
        if not app_url.startswith(("http://", "https://")):
            raise ConfigError("APP_URL", f"must start with http:// or https://, got {app_url!r}")
        if production and not app_url.startswith("https://"):
            raise ConfigError("APP_URL", "must be https when APP_ENV=production")

        version = _get(env, "SHOPIFY_API_VERSION") or DEFAULT_API_VERSION
        if not _is_api_version(version):
            raise ConfigError("SHOPIFY_API_VERSION", f"must look like YYYY-MM, got {version!r}")

        smtp_url = _get(env, "SMTP_URL")
        if smtp_url and not smtp_url.startswith(("smtp://", "smtps://")):
            raise ConfigError("SMTP_URL", "must start with smtp:// or smtps://")

        log_level = (_get(env, "LOG_LEVEL") or "INFO").upper()
        if log_level not in _LOG_LEVELS:
            raise ConfigError("LOG_LEVEL", f"must be one of {', '.join(_LOG_LEVELS)}")

        keep_days = _get(env, "KEEP_DAYS") or "14"
        if not keep_days.isdecimal() or int(keep_days) < 1:
            raise ConfigError("KEEP_DAYS", f"must be a whole number of days, at least 1, got {keep_days!r}")

        return cls(
            database_url=database_url,
            secret_key=secret_key,
            encryption_keys=keys,
            app_url=app_url,
            app_env=app_env,
            var_dir=var_dir,
            shopify_api_key=_get(env, "SHOPIFY_API_KEY"),
            shopify_api_secret=_get(env, "SHOPIFY_API_SECRET"),
            shopify_api_version=version,
            smtp_url=smtp_url,
            log_level=log_level,
            keep_days=int(keep_days),
        )

    def secrets(self) -> list[str]:
        """Values that must never appear in a log line."""
        values = [self.secret_key, *self.encryption_keys, self.shopify_api_secret or ""]
        password = make_url(self.database_url).password
        if password:
            values.append(str(password))
        if self.smtp_url and urlsplit(self.smtp_url).password:
            values.append(unquote(urlsplit(self.smtp_url).password or ""))
        return [v for v in values if v]

    @property
    def logging_level(self) -> int:
        return logging.getLevelName(self.log_level)


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value.strip() if value and value.strip() else None


def _check_database_url(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            "DATABASE_URL", "is not a database URL (expected sqlite:///PATH or postgresql://HOST/DB)"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError("DATABASE_URL", f"backend {backend!r} is not supported (use sqlite or postgresql)")
    if backend == "postgresql" and parsed.drivername == "postgresql":
        # psycopg 3 is the driver we install; SQLAlchemy's default would look for psycopg2.
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    elif backend == "postgresql" and parsed.drivername != "postgresql+psycopg":
        # The intake's statements and the workers' LISTEN are written for psycopg 3.
        raise ConfigError(
            "DATABASE_URL", f"driver {parsed.drivername!r} is not supported (use postgresql://, psycopg 3)"
        )
    return url


def _kept_secret(path: Path, fresh: str) -> str:
    """Generate a secret once for the embedded default and keep it under var/."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(fresh)
    return fresh


def _is_api_version(value: str) -> bool:
    if value == "unstable":
        return True
    parts = value.split("-")
    return len(parts) == 2 and all(p.isdigit() for p in parts) and len(parts[0]) == 4 and len(parts[1]) == 2
