"""`mlflow server` as a background process of the stack: MLflow's own accounts (basic-auth, its
user database on the stack's PostgreSQL), HTTPS when the stack is reachable from other
machines, started detached, found again by its pid file, stopped with SIGTERM (it finishes
its requests; every write is already in the database or the artifacts folder).

No secret is on its command line: the database passwords come from a libpq password file
(PGPASSFILE), the first admin's password from MLflow's MLFLOW_AUTH_ADMIN_PASSWORD, both in its
environment, which only its owner can read.
"""

import json
import os
import shlex
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pipeline.processes.liveness import command_line, end_process, process_running, started_at
from pipeline.stack.files import private_dir, write_private
from pipeline.stack.postgres import StackError
from pipeline.stack.secrets import StackSecrets

EVERY_INTERFACE = ("0.0.0.0", "::", "", "*")
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")  # a new one at every boot (Linux)
_SAME_START_S = 0.05  # the start time's float arithmetic, not another process
START_TIMEOUT_S = 120  # its first start migrates a new database: tens of seconds on 2 cores
STOP_TIMEOUT_S = 30
AUTH_CACHE_TTL_S = 60


@dataclass
class MlflowServer:
    folder: Path  # mlflow.pid, mlflow.log, basic_auth.ini and artifacts/ live here
    backend_store_uri: str  # no password: PGPASSFILE has it
    auth_database_uri: str  # the accounts' database, no password either
    secrets: StackSecrets  # the roles' password file, the admin's password, the CSRF signing key
    admin_username: str
    host: str  # the name clients use: allowed as Host header and in the certificate
    listen: str
    port: int
    workers: int
    job_execution: bool  # MLflow's GenAI job runner and its huey consumers
    certificate: Path | None  # HTTPS with this certificate and key; None: plain HTTP (loopback)
    key: Path | None
    ca_file: Path | None

    @property
    def pid_file(self) -> Path:
        return self.folder / "mlflow.pid"

    @property
    def artifacts(self) -> Path:
        return self.folder / "artifacts"

    @property
    def log_file(self) -> Path:
        return self.folder / "mlflow.log"

    def local_url(self) -> str:
        host = "127.0.0.1" if self.listen in EVERY_INTERFACE else self.listen
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self.certificate else 'http'}://{host}:{self.port}"

    def own_names(self) -> list[str]:
        """The address it binds to, when that is one address: its health check dials it."""
        return [] if self.listen in EVERY_INTERFACE else [self.listen]

    def pid(self) -> int | None:
        """The server's pid when the pid file names the very process this stack started (same
        start time, an `mlflow server`); after a reboot or a crash the number may belong to
        anything else, which is never signalled."""
        try:
            recorded = json.loads(self.pid_file.read_text())
            pid = int(recorded["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if (
            not _same_process(recorded, _identity(pid))
            or not _is_mlflow_server(pid)
            or not process_running(pid)
        ):
            return None
        return pid

    def healthy(self) -> bool:
        context = ssl.create_default_context(cafile=str(self.ca_file)) if self.certificate else None
        try:
            with urllib.request.urlopen(
                f"{self.local_url()}/health", timeout=2, context=context
            ) as response:
                return response.status == 200
        except OSError:
            return False

    def command(self) -> list[str]:
        names = dict.fromkeys([self.host, *self.own_names(), "127.0.0.1", "localhost"])
        scheme = "https" if self.certificate else "http"
        command = [
            str(Path(sys.executable).parent / "mlflow"),
            "server",
            "--app-name",
            "basic-auth",
            "--backend-store-uri",
            self.backend_store_uri,
            "--serve-artifacts",
            "--artifacts-destination",
            str(self.artifacts),
            "--host",
            self.listen,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            # MLflow's host check admits localhost and private addresses only by default.
            "--allowed-hosts",
            ",".join(f"{name},{name}:{self.port}" for name in names),
            "--cors-allowed-origins",
            ",".join(f"{scheme}://{name}:{self.port}" for name in names),
        ]
        if self.certificate:
            command += [
                "--uvicorn-opts",
                shlex.join(
                    ["--ssl-certfile", str(self.certificate), "--ssl-keyfile", str(self.key)]
                ),
            ]
        return command

    def _write_auth_config(self) -> Path:
        path = self.folder / "basic_auth.ini"
        write_private(
            path,
            "[mlflow]\n"
            "default_permission = READ\n"  # every account reads; writing is granted
            f"database_uri = {self.auth_database_uri}\n"
            f"admin_username = {self.admin_username}\n"
            "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
            # A password hash is slow to check by design, and a search sends
            # several requests a second: each worker remembers a checked sign-in
            # this long, so a changed password or deleted account reaches the
            # other workers within it (docs/performance.md, the team stack).
            f"auth_cache_ttl_seconds = {AUTH_CACHE_TTL_S}\n",
        )
        return path

    def start(self) -> None:
        if self.pid() is not None:
            return
        private_dir(self.folder)
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        env.update(
            MLFLOW_SERVER_ENABLE_JOB_EXECUTION=str(self.job_execution).lower(),
            MLFLOW_AUTH_CONFIG_PATH=str(self._write_auth_config()),
            # MLflow creates the admin with this password on its first start only.
            MLFLOW_AUTH_ADMIN_PASSWORD=self.secrets.admin_password(self.admin_username),
            PGPASSFILE=str(self.secrets.passfile),
            MLFLOW_FLASK_SERVER_SECRET_KEY=self.secrets.flask_secret_key(),
        )
        log = os.open(self.log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            # Its own session: the server outlives `make server` and stops as one process group.
            # Umask 077: the artifacts it stores are its owner's alone.
            process = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                umask=0o077,
            )
        finally:
            os.close(log)
        write_private(self.pid_file, json.dumps(_identity(process.pid)))
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.healthy():
            if process.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise StackError(
                    f"mlflow server exited with status {process.returncode}; see {self.log_file}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise StackError(
                    f"mlflow server did not answer in {START_TIMEOUT_S} s; see {self.log_file}"
                )
            time.sleep(0.5)

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            end_process(pid, STOP_TIMEOUT_S, group=True)
        self.pid_file.unlink(missing_ok=True)


def _identity(pid: int) -> dict:
    """What tells this process apart from a later one with the same number, across reboots."""
    try:
        boot = _BOOT_ID.read_text().strip()
    except OSError:
        boot = ""
    return {"pid": pid, "boot": boot, "started": started_at(pid)}


def _same_process(recorded: dict, now: dict) -> bool:
    started, current = recorded.get("started"), now["started"]
    return (
        recorded.get("pid") == now["pid"]
        and recorded.get("boot") == now["boot"]
        and isinstance(started, (int, float))
        and current is not None
        and abs(started - current) < _SAME_START_S
    )


def _is_mlflow_server(pid: int) -> bool:
    arguments = command_line(pid)
    return any(a.endswith("mlflow") for a in arguments) and "server" in arguments
