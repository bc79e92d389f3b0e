"""MLflow accounts on the stack's server, made through MLflow's own auth API by the admin.

Every account reads every experiment and model (the server's default permission); an editor
may also write to all of them, through an MLflow role that grants EDIT on every experiment
and registered model, present and future.
"""

import os
import re
import warnings
from pathlib import Path

from omegaconf import DictConfig

from pipeline.stack.files import new_secret, write_private
from pipeline.stack.secrets import credentials_text
from pipeline.tracking.credentials import (
    CERT_PATH_ENV,
    PASSWORD_ENV,
    USERNAME_ENV,
    read_credentials_file,
)

ROLES = ("reader", "editor")
USER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")
EDITOR_ROLE = "editor"
EDITOR_GRANTS = (("experiment", "EDIT"), ("registered_model", "EDIT"))
WORKSPACE = "default"


class AccountError(RuntimeError):
    """An account cannot be made; the message is one line."""


def _admin_client(stack, tracking: DictConfig):
    """MLflow's auth client signed in as the stack's admin (their credentials file)."""
    with warnings.catch_warnings():  # MLflow's server modules warn about Starlette's, on import
        warnings.simplefilter("ignore")
        from mlflow.server.auth.client import AuthServiceClient

    username, password = read_credentials_file(stack.secrets.credentials)
    if not (username and password):
        raise AccountError(
            f"no admin credentials in {stack.secrets.credentials}: start the stack first (make server)"
        )
    if not stack.mlflow.healthy():
        raise AccountError(
            f"the stack's MLflow server does not answer at {tracking.uri}: start it (make server)"
        )
    os.environ.update({USERNAME_ENV: username, PASSWORD_ENV: password})
    if stack.certificates:
        os.environ[CERT_PATH_ENV] = str(stack.certificates.ca_file)
    return AuthServiceClient(stack.mlflow.local_url())


def _editor_role_id(client) -> int:
    for role in client.list_roles(WORKSPACE):
        if role.name == EDITOR_ROLE:
            return role.id
    role = client.create_role(
        WORKSPACE, EDITOR_ROLE, "writes to every experiment and registered model"
    )
    for resource, permission in EDITOR_GRANTS:
        client.add_role_permission(role.id, resource, "*", permission)
    return role.id


def add_user(stack, tracking: DictConfig, name: str, role: str) -> Path:
    """A new account with a random password, written to an owner-only credentials file first:
    an account is never left with a password nobody has."""
    from mlflow.exceptions import MlflowException

    if not USER_NAME.match(name):
        raise AccountError(
            f"user name {name!r}: letters, digits, '.', '_' and '-' only, not first a '.' or '-'"
        )
    client = _admin_client(stack, tracking)
    password = new_secret()
    path = stack.secrets.user_credentials(name)
    if path.exists():
        raise AccountError(f"user {name}: {path} exists already")
    write_private(path, credentials_text(name, password))
    created = False
    try:
        client.create_user(name, password)
        created = True
        if role == EDITOR_ROLE:
            client.assign_role(name, _editor_role_id(client))
    except MlflowException as error:
        if created:
            client.delete_user(name)
        path.unlink(missing_ok=True)
        raise AccountError(f"user {name}: {error.message.splitlines()[0]}") from None
    return path
