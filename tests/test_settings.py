"""Settings are read once from the environment and a bad value names its variable."""

import stat

import pytest

from connector.errors import ConfigError
from connector.settings import Settings


def read(tmp_path, **env):
    return Settings.from_env({"VAR_DIR": str(tmp_path), **env})


def test_the_embedded_default_is_sqlite_under_var(tmp_path):
    settings = read(tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'backorder.sqlite3'}"
    assert settings.app_env == "development"
    assert settings.shopify_api_version == "2026-10"


def test_keys_are_generated_once_and_kept_private_under_var(tmp_path):
    first, second = read(tmp_path), read(tmp_path)
    assert first.secret_key == second.secret_key
    assert first.encryption_keys == second.encryption_keys
    mode = (tmp_path / "secret_key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ENCRYPTION_KEY"])
def test_production_requires_its_keys(tmp_path, missing):
    env = {
        "APP_ENV": "production",
        "APP_URL": "https://connector.example",
        "SECRET_KEY": "s" * 32,
        "ENCRYPTION_KEY": "8Xv0H4W3mvy0lLDWZ-x4sWw3u9w9VQk1wM1a3D7pH5c=",
    }
    del env[missing]
    with pytest.raises(ConfigError) as error:
        read(tmp_path, **env)
    assert error.value.variable == missing


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "nonsense"),
        ("DATABASE_URL", "mysql://root@localhost/db"),
        ("DATABASE_URL", "postgresql+pg8000://localhost/db"),
        ("APP_ENV", "staging"),
        ("APP_URL", "ftp://x"),
        ("ENCRYPTION_KEY", "not-a-fernet-key"),
        ("SECRET_KEY", "short"),
        ("SHOPIFY_API_VERSION", "latest"),
        ("SMTP_URL", "mail.example:25"),
        ("LOG_LEVEL", "LOUD"),
        ("KEEP_DAYS", "0"),
        ("KEEP_DAYS", "a week"),
    ],
)
def test_a_malformed_value_names_its_variable(tmp_path, variable, value):
    with pytest.raises(ConfigError) as error:
        read(tmp_path, **{variable: value})
    assert error.value.variable == variable
    assert str(error.value).startswith(f"{variable}: ")


def test_a_plain_postgresql_url_uses_the_installed_driver(tmp_path):
    settings = read(tmp_path, DATABASE_URL="postgresql://u:hunter2secret@db:5432/shop")
    assert settings.database_url == "postgresql+psycopg://u:hunter2secret@db:5432/shop"
    assert "hunter2secret" in settings.secrets()


def test_encryption_keys_can_be_rotated_with_a_list(tmp_path):
    keys = "8Xv0H4W3mvy0lLDWZ-x4sWw3u9w9VQk1wM1a3D7pH5c=,c2lWbzUz8Dq1kK5mM7yYt4GZ2dXkTg6q3YvB0uWnE1k="
    assert len(read(tmp_path, ENCRYPTION_KEY=keys).encryption_keys) == 2
