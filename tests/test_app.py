"""The application factory, the extension form, configuration and plugins."""

from __future__ import annotations

import pytest
from flask import Flask

from network_service import MentorNet, create_app
from network_service.config import DEFAULT_SECRET_KEY, ConfigurationError, load_config
from network_service.db import db
from tests.databases import app_config


def test_environment_overrides_the_callers_settings():
    config = load_config(
        {"BASE_URL": "http://given"},
        environ={
            "MENTORNET_BASE_URL": "https://env.example.org",
            "MENTORNET_LANGUAGES": "en, de ,ar",
            "MENTORNET_SIGN_IN_LINK_MINUTES": "15",
            "MENTORNET_OUTBOX_WORKER": "false",
            "UNRELATED": "x",
        },
    )
    assert config["BASE_URL"] == "https://env.example.org"
    assert config["LANGUAGES"] == ["en", "de", "ar"]
    assert config["SIGN_IN_LINK_MINUTES"] == 15
    assert config["OUTBOX_WORKER"] is False


def test_malformed_typed_setting_is_named():
    with pytest.raises(ConfigurationError, match="MENTORNET_INVITATION_DAYS"):
        load_config(environ={"MENTORNET_INVITATION_DAYS": "two weeks"})


@pytest.mark.parametrize("raw", ["0", "-1", "soon", "true"])
def test_an_smtp_timeout_must_be_seconds_above_zero(raw):
    with pytest.raises(ConfigurationError, match="MENTORNET_SMTP_TIMEOUT"):
        load_config(environ={"MENTORNET_SMTP_TIMEOUT": raw})
    assert load_config(environ={"MENTORNET_SMTP_TIMEOUT": "2.5"})["SMTP_TIMEOUT"] == 2.5


@pytest.mark.parametrize("secret", [DEFAULT_SECRET_KEY, "short", ""])
def test_production_refuses_a_weak_or_default_secret(tmp_path, secret):
    with pytest.raises(ConfigurationError, match="MENTORNET_SECRET_KEY"):
        create_app({"ENV": "production", "SECRET_KEY": secret, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})


def test_production_starts_with_a_strong_secret(tmp_path):
    app = create_app(
        {
            "ENV": "production",
            "SECRET_KEY": "s" * 40,
            "DATABASE_URL": f"sqlite:///{tmp_path}/x.db",
            "BASE_URL": "https://mentornet.example.org",
            "OUTBOX_WORKER": False,
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    db.dispose(app)


def test_default_database_is_a_sqlite_file_in_the_instance_folder(tmp_path):
    app = create_app({"ENV": "development", "OUTBOX_WORKER": False}, instance_path=str(tmp_path / "inst"))
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'inst' / 'mentornet.sqlite'}"
    db.dispose(app)


def test_mounts_into_an_existing_flask_application(database_url):
    host = Flask("host_app")

    @host.get("/host-page")
    def host_page():
        return "the host's own page"

    host.config["MENTORNET"] = app_config(database_url)
    MentorNet().init_app(host)
    client = host.test_client()
    assert client.get("/host-page").get_data(as_text=True) == "the host's own page"
    assert client.get("/healthz").get_json() == {"status": "ok"}
    sign_in = client.get("/sign-in")
    assert sign_in.status_code == 200 and "/mentornet-static/css/main.css" in sign_in.get_data(as_text=True)
    assert client.get("/mentornet-static/css/main.css").status_code == 200
    db.dispose(host)


def test_installed_bridge_plugin_is_loaded_through_its_entry_point(app):
    assert "lti_bridge" in app.extensions["mentornet.plugins"]
    assert "bridge" in app.cli.commands


def test_plugins_can_be_limited_and_unknown_ones_are_an_error(database_url):
    app = create_app(app_config(database_url, PLUGINS=[]))
    assert app.extensions["mentornet.plugins"] == {}
    db.dispose(app)
    with pytest.raises(RuntimeError, match="not-installed"):
        create_app(app_config(database_url, PLUGINS=["not-installed"]))


def test_healthz_reports_an_unreachable_database_with_503(tmp_path):
    app = create_app(app_config("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.get_json()["status"] == "unavailable"
    db.dispose(app)


def test_mistyped_environment_name_is_refused():
    with pytest.raises(ConfigurationError, match="MENTORNET_ENV"):
        load_config(environ={"MENTORNET_ENV": "prod"})


def test_plain_postgresql_urls_use_psycopg_3():
    config = load_config(environ={"MENTORNET_DATABASE_URL": "postgres://u@db/mentornet"})
    assert config["DATABASE_URL"] == "postgresql+psycopg://u@db/mentornet"


def test_behind_a_proxy_the_forwarded_client_address_counts(database_url):
    from flask import request

    app = create_app(app_config(database_url, PROXY_COUNT=1))

    @app.get("/whoami")
    def whoami():
        return request.remote_addr

    response = app.test_client().get("/whoami", headers={"X-Forwarded-For": "203.0.113.7"})
    assert response.get_data(as_text=True) == "203.0.113.7"
    db.dispose(app)
