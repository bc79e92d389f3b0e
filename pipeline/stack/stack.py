"""The stack as the config describes it (`tracking.server`): which servers, where, with which
secrets and certificates, and in which order they start and stop."""

import getpass
import grp
import os
import time
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig

from pipeline.config import ConfigError
from pipeline.config.resolvers import beyond_loopback
from pipeline.config.secrets import PASSWORD_ENV
from pipeline.stack.mlflow_server import MlflowServer
from pipeline.stack.postgres import SERVER_USER_AS_ROOT, Access, Postgres, StackError
from pipeline.stack.secrets import StackSecrets
from pipeline.stack.tls import StackCertificates

MLFLOW_DATABASE, OPTUNA_DATABASE, AUTH_DATABASE = "mlflow", "optuna", "mlflow_auth"
AUTH_ROLE = "mlflow_auth"  # the MLflow server's own role for its accounts; clients never get it
ADMIN = "admin"
MIN_PASSWORD_LENGTH = 12  # beyond loopback
WEAK_PASSWORDS = ("mnist", "password", "postgres", "mlflow")  # the old default among them


@dataclass
class Stack:
    folder: Path
    host: str  # where clients reach it
    listen: str
    user: str  # the clients' PostgreSQL role
    secrets: StackSecrets
    certificates: StackCertificates | None
    postgres: Postgres
    mlflow: MlflowServer

    def start(self) -> float:
        """Start what is not running; returns the seconds until both answer."""
        began = time.monotonic()
        passwords = self._database_passwords()
        self._make_folder()
        self.secrets.save_database_passwords(passwords)
        if self.certificates:
            self.certificates.ensure(self.host, self.mlflow.own_names())
        if not self.postgres.initialised():
            self.postgres.initialise()
        if not self.postgres.running():
            certificate, key = (
                (self.certificates.certificate, self.certificates.key)
                if self.certificates
                else (None, None)
            )
            self.postgres.write_settings(certificate, key, self._access())
            self.postgres.start()
        self.postgres.provision(
            passwords,
            {MLFLOW_DATABASE: self.user, OPTUNA_DATABASE: self.user, AUTH_DATABASE: AUTH_ROLE},
        )
        self.mlflow.start()
        return time.monotonic() - began

    def _database_passwords(self) -> dict[str, str]:
        """The clients' role password: the one given (command line or PGPASSWORD), else the
        one in the stack's password file, else a new random one; the server's own role's
        password is always the stack's. Beyond loopback a weak one is refused before anything
        is written."""
        saved = self.secrets.database_passwords()
        given = os.environ.get(PASSWORD_ENV)
        if given is not None and not (given.isascii() and given.isprintable()):
            raise ConfigError("the stack's password must be printable ASCII")
        if (
            os.geteuid() != 0 and self.user == getpass.getuser()
        ):  # initdb's superuser is named after us
            raise ConfigError(
                f"tracking.server.user={self.user} is the name of the account the server runs "
                "as (its superuser): choose another name for the clients' role"
            )
        password = given or saved.get(self.user) or self.secrets.new_password()
        if beyond_loopback(self.listen) and (
            len(password) < MIN_PASSWORD_LENGTH
            or password in WEAK_PASSWORDS
            or password == self.user
        ):
            raise ConfigError(
                f"the stack listens on {self.listen}, beyond loopback: its password must have at "
                f"least {MIN_PASSWORD_LENGTH} characters and not be a default; set one with "
                "tracking.server.password=... or PGPASSWORD"
            )
        return {self.user: password, AUTH_ROLE: saved.get(AUTH_ROLE) or self.secrets.new_password()}

    def _access(self) -> list[Access]:
        # On its own host the clients' role may open any database it may CONNECT to (its own:
        # provision closes every other); from the network only the Optuna storage.
        return [
            Access(self.user, ["all"], remote_databases=[OPTUNA_DATABASE]),
            Access(AUTH_ROLE, [AUTH_DATABASE]),
        ]

    def _make_folder(self) -> None:
        """Owner-only; as root, PostgreSQL's system user may pass through to its own folder."""
        for parent in reversed(self.folder.parents):
            if os.geteuid() == 0 and parent.is_dir() and parent.stat().st_mode & 0o001 == 0:
                raise StackError(
                    f"{parent} is not traversable by the {SERVER_USER_AS_ROOT} user; "
                    "put the stack's folder elsewhere (tracking.server.dir)"
                )
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(self.folder, 0, grp.getgrnam(SERVER_USER_AS_ROOT).gr_gid)
            self.folder.chmod(0o710)
        else:
            self.folder.chmod(0o700)

    def stop(self) -> None:
        """The MLflow server first (it writes to PostgreSQL), then PostgreSQL."""
        self.mlflow.stop()
        self.postgres.stop()

    def status(self) -> dict[str, bool]:
        return {"postgres": self.postgres.running(), "mlflow": self.mlflow.healthy()}


def stack_from_config(server: DictConfig) -> Stack:
    folder = Path(server.dir)
    secrets = StackSecrets(folder / "secrets")
    certificates = StackCertificates(folder / "tls") if server.tls else None
    postgres = Postgres(
        folder / "postgres",
        listen=server.listen,
        port=server.postgres_port,
        allow=[str(cidr) for cidr in server.allow],
        tls=server.tls,
    )
    # The MLflow server reaches PostgreSQL on its own host, over loopback.
    mlflow = MlflowServer(
        folder / "mlflow",
        backend_store_uri=postgres.url(server.user, "127.0.0.1", MLFLOW_DATABASE),
        auth_database_uri=postgres.url(AUTH_ROLE, "127.0.0.1", AUTH_DATABASE),
        secrets=secrets,
        admin_username=ADMIN,
        host=server.host,
        listen=server.listen,
        port=server.mlflow_port,
        workers=server.workers,
        job_execution=server.job_execution,
        certificate=certificates.certificate if certificates else None,
        key=certificates.key if certificates else None,
        ca_file=certificates.ca_file if certificates else None,
    )
    return Stack(
        folder, server.host, server.listen, server.user, secrets, certificates, postgres, mlflow
    )
