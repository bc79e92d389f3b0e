"""A PostgreSQL server of the project's own: initialised, started and stopped in a folder.

Debian's PostgreSQL refuses to run as root, so as root every server command runs as the
`postgres` system user (its folder is handed over to that user); as anyone else it runs
as that user. Clients connect over TCP with a password (scram-sha-256); the local socket,
used only to create the databases, lives in the folder too.
"""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SERVER_USER_AS_ROOT = "postgres"
START_TIMEOUT_S = 60


class StackError(RuntimeError):
    """A stack server cannot be set up, started or stopped; the message is one line."""


def pg_bin(name: str) -> str:
    """A PostgreSQL program: on PATH, else in Debian's versioned folder (newest first)."""
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        raise StackError(f"PostgreSQL's {name} is not installed (Debian: apt-get install postgresql)")
    return found


@dataclass
class Postgres:
    folder: Path          # data/, run/ (socket) and postgres.log live here
    listen: str           # listen_addresses
    port: int
    user: str             # the superuser the stack creates, and connects as
    password: str
    allow: list[str]      # client networks (CIDR) admitted with a password

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
        result = subprocess.run(command, capture_output=True, text=True, **kwargs)
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()
            raise StackError(f"{Path(program).name} failed: "
                             f"{last[-1] if last else 'exit status ' + str(result.returncode)}")
        return result

    def _write_as_server_user(self, path: Path, text: str) -> None:
        self._as_server_user("tee", str(path), input=text)

    def _hand_over(self, *paths: Path) -> None:
        """As root: the server user owns its folders; the parents must be traversable."""
        if os.geteuid() != 0:
            return
        account = pwd.getpwnam(SERVER_USER_AS_ROOT)
        for path in paths:
            os.chown(path, account.pw_uid, account.pw_gid)
        for parent in [self.folder, *self.folder.parents]:
            if parent.stat().st_mode & 0o001 == 0:
                raise StackError(f"{parent} is not traversable by the {SERVER_USER_AS_ROOT} user; "
                                 "put the stack's folder elsewhere (tracking.server.dir)")

    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def initialise(self) -> None:
        """A new cluster whose superuser is `user` with `password`, listening as configured."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o755)
        for path in (self.data_dir, self.socket_dir):
            path.mkdir(mode=0o700, exist_ok=True)
        self._hand_over(self.data_dir, self.socket_dir)
        with tempfile.NamedTemporaryFile("w", dir=self.folder, prefix=".pw-") as password_file:
            password_file.write(self.password + "\n")
            password_file.flush()
            self._hand_over(Path(password_file.name))
            self._as_server_user(pg_bin("initdb"), "-D", str(self.data_dir), "-U", self.user,
                                 f"--pwfile={password_file.name}", "--auth-local=trust",
                                 "--auth-host=scram-sha-256", "--encoding=UTF8", "--no-instructions")
        self._write_settings()

    def _write_settings(self) -> None:
        """Address, port and admitted networks: rewritten at every start, so the config rules."""
        settings = (f"listen_addresses = '{self.listen}'\nport = {self.port}\n"
                    f"unix_socket_directories = '{self.socket_dir}'\n")
        self._write_as_server_user(self.data_dir / "stack.conf", settings)
        main_conf = self.data_dir / "postgresql.conf"
        include = "include_if_exists = 'stack.conf'\n"
        if include not in main_conf.read_text():
            self._write_as_server_user(main_conf, main_conf.read_text() + include)
        hba = "local all all trust\n" + "".join(f"host all all {cidr} scram-sha-256\n"
                                                 for cidr in ["127.0.0.1/32", *self.allow])
        self._write_as_server_user(self.data_dir / "pg_hba.conf", hba)

    def running(self) -> bool:
        if not self.initialised():
            return False
        command = [pg_bin("pg_ctl"), "status", "-D", str(self.data_dir)]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER_AS_ROOT, "--", *command]
        return subprocess.run(command, capture_output=True).returncode == 0

    def start(self) -> None:
        if not self.initialised():
            self.initialise()
        if self.running():
            return
        self._write_settings()
        if not self.log_file.exists():
            self.log_file.touch()
            self._hand_over(self.log_file)
        self._as_server_user(pg_bin("pg_ctl"), "start", "-D", str(self.data_dir), "-l", str(self.log_file),
                             "-w", "-t", str(START_TIMEOUT_S))

    def create_database(self, name: str) -> None:
        exists = self._as_server_user(
            pg_bin("psql"), "-h", str(self.socket_dir), "-p", str(self.port), "-U", self.user, "-d", "postgres",
            "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'").stdout.strip()
        if not exists:
            self._as_server_user(pg_bin("createdb"), "-h", str(self.socket_dir), "-p", str(self.port),
                                 "-U", self.user, name)

    def stop(self) -> None:
        """A fast shutdown: sessions end, every committed transaction is on disk."""
        if self.running():
            self._as_server_user(pg_bin("pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w")

    def url(self, host: str, database: str) -> str:
        return f"postgresql://{self.user}:{self.password}@{host}:{self.port}/{database}"
