"""The stack as the config describes it (`tracking.server`): which servers, where, and in
which order they start and stop."""
import time
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig

from pipeline.stack.mlflow_server import MlflowServer
from pipeline.stack.postgres import Postgres

MLFLOW_DATABASE, OPTUNA_DATABASE = "mlflow", "optuna"


@dataclass
class Stack:
    postgres: Postgres
    mlflow: MlflowServer
    host: str            # where clients reach it

    def start(self) -> float:
        """Start what is not running; returns the seconds until both answer."""
        began = time.monotonic()
        self.postgres.start()
        for database in (MLFLOW_DATABASE, OPTUNA_DATABASE):
            self.postgres.create_database(database)
        self.mlflow.start()
        return time.monotonic() - began

    def stop(self) -> None:
        """The MLflow server first (it writes to PostgreSQL), then PostgreSQL."""
        self.mlflow.stop()
        self.postgres.stop()

    def status(self) -> dict[str, bool]:
        return {"postgres": self.postgres.running(), "mlflow": self.mlflow.healthy()}


def stack_from_config(server: DictConfig) -> Stack:
    folder = Path(server.dir)
    # The MLflow server reaches PostgreSQL on its own host.
    local = "127.0.0.1" if server.listen in ("0.0.0.0", "*") else server.host
    postgres = Postgres(folder / "postgres", listen=server.listen, port=server.postgres_port, user=server.user,
                        password=server.password, allow=list(server.allow))
    mlflow = MlflowServer(folder / "mlflow", backend_store_uri=postgres.url(local, MLFLOW_DATABASE),
                          listen=server.listen, port=server.mlflow_port, workers=server.workers,
                          job_execution=server.job_execution)
    return Stack(postgres, mlflow, server.host)
