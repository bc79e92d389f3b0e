"""A PostgreSQL server of the project's own: initialised, started and stopped in a folder.

Debian's PostgreSQL refuses to run as root, so as root every server command runs as the
`postgres` system user (its folder is handed over to that user); as anyone else it runs as
that user. The cluster's superuser is that system user, reachable only through the local
socket in the server's private folder (peer authentication). Clients get a role of their own
that owns their databases and nothing else, and connect over TCP with a password
(scram-sha-256); beyond loopback only over TLS.
"""

import base64
import glob
import hashlib
import hmac
import os
import pwd
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.stack.files import write_private

SERVER_USER_AS_ROOT = "postgres"
START_TIMEOUT_S = 60
LOOPBACK_NETWORKS = ("127.0.0.1/32", "::1/128")
SCRAM_ITERATIONS = 4096  # PostgreSQL's own default for scram-sha-256
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class StackError(RuntimeError):
    """A stack server cannot be set up, started or stopped; the message is one line."""


def pg_bin(name: str) -> str:
    """A PostgreSQL program: on PATH, else in Debian's versioned folder (newest first)."""
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise StackError(
            f"PostgreSQL's {name} is not installed (Debian: apt-get install postgresql)"
        )
    return found


def scram_verifier(password: str) -> str:
    """What PostgreSQL stores for a scram-sha-256 password (RFC 5802/7677), made here so the
    password itself never reaches the server, its logs or its statement statistics."""
    if not password.isascii() or not password.isprintable():
        raise StackError("the stack's password must be printable ASCII")
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return (
        f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}$"
        f"{b64(hashlib.sha256(client_key).digest())}:{b64(server_key)}"
    )


@dataclass
class Access:
    """Who may connect to what, from where: one pg_hba.conf line per role, database and network."""

    role: str
    databases: list[str]
    networks: list[str] = field(default_factory=lambda: list(LOOPBACK_NETWORKS))
    remote_databases: list[str] = field(
        default_factory=list
    )  # also reachable from `allow` networks


@dataclass
class Postgres:
    folder: Path  # data/, run/ (socket) and postgres.log live here
    listen: str  # listen_addresses (loopback is always added: the stack's own clients)
    port: int
    allow: list[str]  # client networks (CIDR) admitted with a password, over TLS when `tls`
    tls: bool  # server.crt and server.key in the data folder; remote clients must use TLS

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def socket_dir(self) -> Path:
        return self.folder / "run"

    @property
    def log_file(self) -> Path:
        return self.folder / "postgres.log"

    def _as_server_user(self, program: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
        command = [program, *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER_AS_ROOT, "--", *command]
        # Not the clients' PGPASSWORD: the server would keep it in its environment.
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        result = subprocess.run(command, capture_output=True, text=True, env=env, **kwargs)
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()
            raise StackError(
                f"{Path(program).name} failed: "
                f"{last[-1] if last else 'exit status ' + str(result.returncode)}"
            )
        return result

    def _hand_over(self, *paths: Path) -> None:
        """As root: the server user owns these."""
        if os.geteuid() != 0:
            return
        account = pwd.getpwnam(SERVER_USER_AS_ROOT)
        for path in paths:  # never through a link the server user may have put there
            os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)

    def _write(self, path: Path, content: bytes | str) -> None:
        """A file of the server's, readable by the server user only."""
        write_private(path, content)
        self._hand_over(path)

    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def initialise(self) -> None:
        """A new cluster whose only superuser is the server's system user, on the socket only."""
        self.folder.mkdir(mode=0o700, exist_ok=True)
        self._hand_over(self.folder)
        for path in (self.data_dir, self.socket_dir):
            path.mkdir(mode=0o700, exist_ok=True)
            self._hand_over(path)
        self._as_server_user(
            pg_bin("initdb"),
            "-D",
            str(self.data_dir),
            "--auth-local=peer",
            "--auth-host=reject",
            "--encoding=UTF8",
            "--no-instructions",
        )

    def write_settings(
        self, certificate: Path | None, key: Path | None, access: list[Access]
    ) -> None:
        """Addresses, TLS and who may connect: rewritten at every start, so the config rules."""
        addresses = self.listen if self.listen in ("*", "0.0.0.0") else f"{self.listen},127.0.0.1"
        settings = (
            f"listen_addresses = '{addresses}'\nport = {self.port}\n"
            f"unix_socket_directories = '{self.socket_dir}'\npassword_encryption = 'scram-sha-256'\n"
        )
        if self.tls:
            self._write(self.data_dir / "server.crt", certificate.read_bytes())
            self._write(self.data_dir / "server.key", key.read_bytes())
            settings += "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
        else:
            settings += "ssl = off\n"
        self._write(self.data_dir / "stack.conf", settings)
        main_conf = self.data_dir / "postgresql.conf"
        include = "include_if_exists = 'stack.conf'\n"
        text = _read_no_link(main_conf)
        if include not in text:
            self._write(main_conf, text + include)
        self._write(self.data_dir / "pg_hba.conf", self._hba(access))

    def _hba(self, access: list[Access]) -> str:
        # The socket's folder is the server user's alone (and root's): peer maps that user to the
        # superuser; the roles need their password there too.
        lines = [
            f"local {','.join(entry.databases)} {entry.role} scram-sha-256" for entry in access
        ]
        lines.append("local all all peer")
        remote = "hostssl" if self.tls else "host"
        for entry in access:
            for network in entry.networks:
                lines.append(
                    f"host {','.join(entry.databases)} {entry.role} {network} scram-sha-256"
                )
            for network in self.allow if entry.remote_databases else []:
                lines.append(
                    f"{remote} {','.join(entry.remote_databases)} {entry.role} {network} scram-sha-256"
                )
        return "\n".join(lines) + "\n"

    def running(self) -> bool:
        if not self.initialised():
            return False
        command = [pg_bin("pg_ctl"), "status", "-D", str(self.data_dir)]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER_AS_ROOT, "--", *command]
        return subprocess.run(command, capture_output=True).returncode == 0

    def start(self) -> None:
        if self.running():
            return
        if not self.log_file.exists():
            self._write(self.log_file, b"")
        self._as_server_user(
            pg_bin("pg_ctl"),
            "start",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            str(START_TIMEOUT_S),
        )

    def sql(self, script: str, database: str = "postgres") -> str:
        """`script` run by the superuser over the private socket; the script goes on stdin, so
        nothing of it shows in a process list."""
        try:
            return self._as_server_user(
                pg_bin("psql"),
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-d",
                database,
                "-X",
                "-q",
                "-tA",
                "-v",
                "ON_ERROR_STOP=1",
                input=script,
            ).stdout
        except StackError as error:
            if "does not exist" in str(error) and "role" in str(error):
                raise StackError(
                    f"{self.folder} was made by an older version of the stack (its clients' "
                    "role is the superuser): move it aside and run make server again"
                ) from None
            raise

    def provision(self, passwords: dict[str, str], owners: dict[str, str]) -> None:
        """Login roles with these passwords (a changed password replaces the old one), no other
        privilege; each database created for its owner and closed to everyone else."""
        script = []
        for role, password in passwords.items():
            _check_identifier(role)
            script.append(
                f"SELECT 'CREATE ROLE {role}' WHERE NOT EXISTS "
                f"(SELECT FROM pg_roles WHERE rolname = '{role}')\\gexec\n"
                f"ALTER ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                f"NOBYPASSRLS PASSWORD '{scram_verifier(password)}';\n"
            )
        for database, owner in owners.items():
            _check_identifier(database)
            script.append(
                f"SELECT 'CREATE DATABASE {database} OWNER {owner}' WHERE NOT EXISTS "
                f"(SELECT FROM pg_database WHERE datname = '{database}')\\gexec\n"
                f"ALTER DATABASE {database} OWNER TO {owner};\n"
                f"REVOKE ALL ON DATABASE {database} FROM PUBLIC;\n"
            )
        # Databases that every role may enter by default; the superuser needs no grant.
        script.append("REVOKE CONNECT, TEMPORARY ON DATABASE postgres, template1 FROM PUBLIC;\n")
        self.sql("".join(script))

    def create_database(self, name: str, owner: str) -> None:
        self.provision({}, {name: owner})

    def stop(self) -> None:
        """A fast shutdown: sessions end, every committed transaction is on disk."""
        if self.running():
            self._as_server_user(
                pg_bin("pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w"
            )

    def url(self, role: str, host: str, database: str, **parameters: str) -> str:
        """A client URL with no password in it: libpq finds it (PGPASSWORD, the passfile)."""
        query = "&".join(f"{key}={value}" for key, value in parameters.items())
        return f"postgresql://{role}@{host}:{self.port}/{database}" + (f"?{query}" if query else "")


def _read_no_link(path: Path) -> str:
    """A file of the server user's folder, read as root: not through a link it may have put there."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(descriptor) as file:
        return file.read()


def _check_identifier(name: str) -> None:
    if not _IDENTIFIER.match(name):
        raise StackError(f"{name!r} is not a plain PostgreSQL name (lower-case letters, digits, _)")
