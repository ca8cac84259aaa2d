"""b0006 encrypts the tool's private keys stored before it, and its downgrade gives b0005's code PEMs back."""

from __future__ import annotations

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from network_service import migrations
from network_service.app import create_app
from network_service.db import db
from tests.databases import app_config
from tests.test_migrations import empty_database  # noqa: F401 - the fixture


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def _stored(app) -> str:
    with db._state(app).engine.connect() as connection:
        return connection.execute(sa.text("SELECT private_key_pem FROM lti_tool_key")).scalar_one()


def test_b0006_encrypts_existing_keys_and_the_downgrade_decrypts_them(empty_database):  # noqa: F811
    app = create_app(app_config(empty_database))
    pem = _pem()
    try:
        with app.app_context():
            migrations.upgrade(app, "b0005")
            with db._state(app).engine.begin() as connection:
                connection.execute(
                    sa.text(
                        "INSERT INTO lti_tool_key (kid, private_key_pem, created_at) VALUES ('k1', :pem, :now)"
                    ),
                    {"pem": pem, "now": "2026-11-28 12:00:00+00:00"},
                )
            migrations.upgrade(app)
            stored = _stored(app)
            assert stored.startswith("fernet:") and "PRIVATE KEY" not in stored

            from lti_bridge.lti.keys import fernet

            assert fernet(app.config).decrypt(stored.removeprefix("fernet:").encode()).decode() == pem
            migrations.downgrade(app, "b0005")
            assert _stored(app) == pem
    finally:
        db.dispose(app)
