"""`python -m pipeline.stack start|stop|status [overrides]` (`make server`, `make server-stop`).

The servers' addresses, ports and folder come from `conf/tracking/server.yaml`, the same
file that `tracking=server` points runs and searches at.
"""
import sys

from pipeline.config import ConfigError
from pipeline.config.compose import compose_user_config
from pipeline.stack.postgres import StackError
from pipeline.stack.stack import stack_from_config

USAGE = "usage: python -m pipeline.stack start|stop|status [tracking.server.KEY=VALUE ...]"


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("start", "stop", "status"):
        print(USAGE, file=sys.stderr)
        return 2
    try:
        tracking = compose_user_config("tracking=server", *argv[1:]).tracking
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    stack = stack_from_config(tracking.server)
    try:
        if argv[0] == "start":
            seconds = stack.start()
            print(f"PostgreSQL   {tracking.server.host}:{tracking.server.postgres_port}  "
                  f"(data in {stack.postgres.data_dir})")
            print(f"MLflow       {tracking.uri}  (artifacts in {stack.mlflow.artifacts})")
            print(f"ready in {seconds:.1f} s; point a run or a search at it with `tracking=server`")
        elif argv[0] == "stop":
            stack.stop()
            print("stopped: MLflow server, PostgreSQL (data kept)")
        else:
            for name, up in stack.status().items():
                print(f"{name:<10} {'running' if up else 'stopped'}")
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
