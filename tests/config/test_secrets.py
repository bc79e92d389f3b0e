"""Passwords typed on a command line leave the overrides before Hydra records them."""

import pytest

from pipeline.config import ConfigError
from pipeline.config.secrets import PASSWORD_ENV, take_secrets
from pipeline.config.validate import validate_server
from tests.helpers import compose_config


@pytest.fixture(autouse=True)
def no_password(monkeypatch):
    monkeypatch.delenv(PASSWORD_ENV, raising=False)  # restored after each test


def test_the_password_override_moves_to_pgpassword():
    kept = take_secrets(
        ["tracking=server", "tracking.server.password=S3cret:PW@x", "trainer.epochs=1"]
    )
    assert kept == ["tracking=server", "trainer.epochs=1"]
    import os

    assert os.environ[PASSWORD_ENV] == "S3cret:PW@x"


def test_a_password_inside_a_postgresql_url_moves_too():
    import os

    kept = take_secrets(
        [
            "tracking.optuna_storage=postgresql+psycopg://mnist:p%40ss@10.0.0.5:5433/optuna",
            "tracking.uri=http://127.0.0.1:5001",
        ]
    )
    assert kept == [
        "tracking.optuna_storage=postgresql+psycopg://mnist@10.0.0.5:5433/optuna",
        "tracking.uri=http://127.0.0.1:5001",
    ]
    assert os.environ[PASSWORD_ENV] == "p@ss"


def test_overrides_without_secrets_are_untouched():
    import os

    overrides = [
        "optimizer=sgd",
        "hydra.sweeper.storage='postgresql://mnist@h:5433/optuna?sslmode=require'",
    ]
    assert take_secrets(list(overrides)) == overrides and PASSWORD_ENV not in os.environ


def test_the_stacks_client_urls_carry_no_password_and_verify_tls_beyond_loopback():
    remote = compose_config("tracking=server", "tracking.server.host=stack.example.org").tracking
    assert remote.uri == "https://stack.example.org:5001"
    assert remote.optuna_storage.startswith("postgresql://mnist@stack.example.org:5433/optuna?")
    assert (
        "sslmode=verify-full" in remote.optuna_storage
        and f"sslrootcert={remote.server.ca_file}" in remote.optuna_storage
    )
    local = compose_config("tracking=server").tracking
    assert local.uri == "http://127.0.0.1:5001" and "sslmode=prefer" in local.optuna_storage


def test_a_password_in_a_config_file_is_refused():
    server = compose_config("tracking=server", "tracking.server.password=in-a-file").tracking.server
    with pytest.raises(ConfigError, match="must not be set in a config file"):
        validate_server(server)


@pytest.mark.parametrize(
    "allow, message",
    [
        ("[10.0.0.5/24]", "has host bits set"),
        ("[everyone]", "does not appear to be an IPv4 or IPv6 network"),
    ],
)
def test_allow_entries_must_be_networks(allow, message):
    server = compose_config("tracking=server", f"tracking.server.allow={allow}").tracking.server
    with pytest.raises(ConfigError, match=message):
        validate_server(server)


@pytest.mark.parametrize(
    "override, kept, password",
    [
        (
            "tracking.optuna_storage=postgresql://u:p@ss@h:5433/db?x=1",
            "tracking.optuna_storage=postgresql://u@h:5433/db?x=1",
            "p@ss",
        ),  # an unencoded "@": the password runs to the last one
        (
            "tracking.optuna_storage=postgresql://u@h/db?sslmode=require&password=se%40cret",
            "tracking.optuna_storage=postgresql://u@h/db?sslmode=require",
            "se@cret",
        ),  # libpq's password parameter
        ("tracking.server.password='with space'", None, "with space"),  # Hydra's quoting undone
        ("tracking.server.password=it's", None, "it's"),
    ],
)
def test_every_form_of_a_typed_password_leaves_the_overrides(override, kept, password):
    import os

    assert (
        take_secrets([override]) == ([kept] if kept else [])
        and os.environ[PASSWORD_ENV] == password
    )


def test_a_password_in_mlflows_tracking_uri_variable_leaves_it_too():
    """The variable is read as the process starts; its URI is printed and logged."""
    import subprocess
    import sys

    from tests.helpers import child_environment

    code = (
        "import os; from pipeline.config.compose import compose_config; "
        "print(compose_config().tracking.uri, os.environ['PGPASSWORD'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=child_environment(MLFLOW_TRACKING_URI="postgresql://u:s3cret@h:5433/mlflow"),
    )
    assert result.stdout.split() == ["postgresql://u@h:5433/mlflow", "s3cret"], result.stderr


def test_tls_cannot_be_switched_off_beyond_loopback_and_the_role_name_is_plain():
    server = compose_config(
        "tracking=server", "tracking.server.host=10.0.0.5", "tracking.server.tls=false"
    ).tracking.server
    with pytest.raises(ConfigError, match="in clear"):
        validate_server(server)
    validate_server(
        compose_config("tracking=server", "tracking.server.tls=false").tracking.server
    )  # loopback: fine
    for name in ("all", "Mnist", "a-b"):
        with pytest.raises(ConfigError, match="plain PostgreSQL name"):
            validate_server(
                compose_config("tracking=server", f"tracking.server.user={name}").tracking.server
            )
