"""The stack's secrets, each in an owner-only file under `.stack/secrets/` (or where the config
points), in the format of the tool that reads it: a libpq password file for PostgreSQL's roles
(PGPASSFILE, libpq's `passfile`), MLflow credentials files for the MLflow accounts it made (the
format of ~/.mlflow/credentials). Never printed, never on a command line."""

import configparser
import io
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.stack.files import new_secret, write_private
from pipeline.tracking.credentials import PASSWORD_ENV, USERNAME_ENV, read_credentials_file

_PGPASS_FIELD = re.compile(r"((?:[^:\\]|\\.)*)(?::|$)")


def _pgpass_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


def _pgpass_fields(line: str) -> list[str]:
    fields = [m.group(1) for m in _PGPASS_FIELD.finditer(line)][:5]
    return [re.sub(r"\\(.)", r"\1", field) for field in fields]


def credentials_text(username: str, password: str) -> str:
    parser = configparser.ConfigParser(interpolation=None)
    parser["mlflow"] = {USERNAME_ENV.lower(): username, PASSWORD_ENV.lower(): password}
    text = io.StringIO()
    parser.write(text)
    return text.getvalue()


@dataclass
class StackSecrets:
    """The stack's own files, whatever its clients' config points at (`tracking.server.passfile`
    and `.credentials` default to these two)."""

    folder: Path

    @property
    def passfile(self) -> Path:
        """libpq's format: `*:*:*:ROLE:PASSWORD` for each of the stack's roles."""
        return self.folder / "pgpass"

    @property
    def credentials(self) -> Path:
        """The admin account."""
        return self.folder / "mlflow-admin"

    @staticmethod
    def new_password() -> str:
        return new_secret()

    def database_passwords(self) -> dict[str, str]:
        try:
            lines = self.passfile.read_text().splitlines()
        except FileNotFoundError:
            return {}
        fields = [_pgpass_fields(line) for line in lines if line and not line.startswith("#")]
        return {f[3]: f[4] for f in fields if len(f) == 5}

    def save_database_passwords(self, passwords: dict[str, str]) -> None:
        write_private(
            self.passfile,
            "".join(
                f"*:*:*:{_pgpass_escape(role)}:{_pgpass_escape(password)}\n"
                for role, password in passwords.items()
            ),
        )

    def admin_password(self, username: str) -> str:
        """The admin's password: made with the stack, kept for the admin's own clients."""
        saved_user, password = read_credentials_file(self.credentials)
        if saved_user != username or not password:
            password = new_secret()
            write_private(self.credentials, credentials_text(username, password))
        return password

    def flask_secret_key(self) -> str:
        """The key MLflow's server signs its CSRF tokens with: one per stack, the same across
        its workers and restarts."""
        path = self.folder / "flask-secret-key"
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            key = new_secret()
            write_private(path, key)
            return key

    def user_credentials(self, username: str) -> Path:
        return self.folder / "users" / f"{username}.credentials"
