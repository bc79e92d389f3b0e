"""`python -m pipeline.stack start|stop|status [overrides]` (`make server`, `make server-stop`),
and `python -m pipeline.stack add-user NAME [--role reader|editor] [overrides]` (`make user`).

The servers' addresses, ports and folder come from `conf/tracking/server.yaml`, the same
file that `tracking=server` points runs and searches at.
"""

import argparse
import sys

from pipeline.config import ConfigError
from pipeline.config.compose import compose_user_config
from pipeline.config.validate import validate_server
from pipeline.stack.accounts import ROLES, AccountError, add_user
from pipeline.stack.postgres import StackError
from pipeline.stack.stack import stack_from_config

ACTIONS = ("start", "stop", "status", "add-user")
USAGE = (
    "usage: python -m pipeline.stack start|stop|status [tracking.server.KEY=VALUE ...]\n"
    "       python -m pipeline.stack add-user NAME [--role reader|editor] [tracking.server.KEY=VALUE ...]"
)


def parse(argv: list[str]) -> argparse.Namespace | None:
    """The action, add-user's NAME and --role, and the overrides; None when they do not fit."""
    if not argv or argv[0] not in ACTIONS:
        return None
    args = argparse.Namespace(action=argv[0], name=None, role=ROLES[0], rest=list(argv[1:]))
    if "--role" in args.rest:
        at = args.rest.index("--role")
        args.role = (args.rest[at + 1 : at + 2] or [""])[0]
        del args.rest[at : at + 2]
    if args.action == "add-user" and args.rest and "=" not in args.rest[0]:
        args.name = args.rest.pop(0)
    if (args.action == "add-user") != (args.name is not None) or args.role not in ROLES:
        return None
    return args


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args is None:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        tracking = compose_user_config("tracking=server", *args.rest).tracking
        validate_server(tracking.server)
        stack = stack_from_config(tracking.server)
        if args.action == "start":
            seconds = stack.start()
            print(
                f"PostgreSQL   {tracking.server.host}:{tracking.server.postgres_port}  "
                f"({'TLS required beyond loopback' if tracking.server.tls else 'loopback only'}; "
                f"data in {stack.postgres.data_dir})"
            )
            print(
                f"MLflow       {tracking.uri}  (accounts on; admin credentials in {stack.secrets.credentials})"
            )
            if tracking.server.tls:
                print(f"CA           {tracking.server.ca_file}  (clients verify the stack with it)")
            print(f"ready in {seconds:.1f} s; point a run or a search at it with `tracking=server`")
        elif args.action == "stop":
            stack.stop()
            print("stopped: MLflow server, PostgreSQL (data kept)")
        elif args.action == "status":
            for name, up in stack.status().items():
                print(f"{name:<10} {'running' if up else 'stopped'}")
        else:
            path = add_user(stack, tracking, args.name, args.role)
            print(
                f"user {args.name} ({args.role}) created; their MLflow credentials are in {path}: "
                "hand the file over, it belongs at ~/.mlflow/credentials on their machine"
            )
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (StackError, AccountError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def cli() -> None:
    """The `mnist-stack` command."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    cli()
