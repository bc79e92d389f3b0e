"""`mlflow server` as a background process of the stack: started detached, found again by its
pid file, stopped with SIGTERM (it finishes its requests; every write is already in the
database or the artifacts folder)."""
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pipeline.processes import process_running
from pipeline.stack.postgres import StackError

START_TIMEOUT_S = 120   # its first start migrates a new database: tens of seconds on 2 cores
STOP_TIMEOUT_S = 30


@dataclass
class MlflowServer:
    folder: Path              # mlflow.pid, mlflow.log and artifacts/ live here
    backend_store_uri: str
    listen: str
    port: int
    workers: int
    job_execution: bool       # MLflow's GenAI job runner and its huey consumers

    @property
    def pid_file(self) -> Path:
        return self.folder / "mlflow.pid"

    @property
    def artifacts(self) -> Path:
        return self.folder / "artifacts"

    def local_url(self) -> str:
        host = "127.0.0.1" if self.listen in ("0.0.0.0", "") else self.listen
        return f"http://{host}:{self.port}"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.local_url()}/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def start(self) -> None:
        if self.pid() is not None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [str(Path(sys.executable).parent / "mlflow"), "server",
                   "--backend-store-uri", self.backend_store_uri,
                   "--serve-artifacts", "--artifacts-destination", str(self.artifacts),
                   "--host", self.listen, "--port", str(self.port), "--workers", str(self.workers)]
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": str(self.job_execution).lower()}
        with open(self.folder / "mlflow.log", "ab") as log:
            # Its own session: the server outlives `make server` and stops as one process group.
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid_file.write_text(str(process.pid))
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.healthy():
            if process.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise StackError(f"mlflow server exited with status {process.returncode}; "
                                 f"see {self.folder / 'mlflow.log'}")
            if time.monotonic() > deadline:
                self.stop()
                raise StackError(f"mlflow server did not answer in {START_TIMEOUT_S} s; "
                                 f"see {self.folder / 'mlflow.log'}")
            time.sleep(0.5)

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            os.killpg(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while _running(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _running(pid):
                os.killpg(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    """Whether `pid` still runs; reaps it first when it is this process's own child. A server
    started by an earlier `make server` is init's child: once it exits it stays a zombie until
    init reaps it (seconds here)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    return process_running(pid)
