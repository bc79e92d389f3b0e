"""`mnist-sync RUN_DIR... | --all [overrides...]` (`make sync`): deliver what runs queued for a
tracking store that was away when they ended (`pipeline/tracking/outbox.py`).

Each run directory's queue goes to the store and run it names, in order, each record once;
the run's final status last. A multirun's folder delivers its jobs' queues, then its parent
run's (the summary, from the children as the store then has them, and the end), which waits
while any of its jobs' is left. `--all` takes every run under `paths.output_dir` with records
left, jobs before parents. Overrides are the training config's: `tracking=server` signs in to
the team stack the way a training does. A store still away is one line and exit 1; nothing is
lost, the same command goes on later.
"""

import argparse
import sys
from pathlib import Path

from pipeline.config import ConfigError
from pipeline.config.compose import compose_user_config
from pipeline.processes.console import first_line, quiet_libraries


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="mnist-sync",
        description=(
            "Deliver the tracking records that runs queued while their MLflow store was away."
        ),
    )
    parser.add_argument(
        "arguments",
        nargs="*",
        metavar="RUN_DIR|override",
        help="run directories, and training config overrides (key=value)",
    )
    parser.add_argument(
        "--all",
        dest="all_runs",
        action="store_true",
        help="every run under paths.output_dir with records left",
    )
    args = parser.parse_intermixed_args(argv)
    args.overrides = [a for a in args.arguments if "=" in a]
    args.run_dirs = [Path(a) for a in args.arguments if "=" not in a]
    if not args.run_dirs and not args.all_runs:
        parser.error("name a run directory, or --all")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        cfg = compose_user_config(*args.overrides)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # MLflow after the arguments: a mistyped one costs no MLflow import.
    from pipeline.tracking.credentials import use_stack_server
    from pipeline.tracking.delivery import apply_request_settings
    from pipeline.tracking.outbox import outboxes_under

    use_stack_server(cfg.tracking)
    apply_request_settings(cfg.tracking.delivery)
    outboxes = []
    for folder in args.run_dirs:
        found = queues_in(folder)
        if found is None:
            print(f"error: {folder} has no tracking queue", file=sys.stderr)
            return 2
        if not found:
            print(f"{folder}: nothing to deliver")
        outboxes += found
    if args.all_runs:
        outboxes += outboxes_under(Path(cfg.paths.output_dir))
    status, undelivered = 0, []
    for outbox in outboxes:
        run_dir = outbox.folder.parent
        if any(run_dir in folder.parents for folder in undelivered):
            print(
                f"error: {run_dir}: its jobs' records are not all delivered, and its summary "
                "is made from them; run this again later",
                file=sys.stderr,
            )
            status = 1
        elif not deliver(outbox):
            undelivered.append(run_dir)
            status = 1
    return status


def queues_in(folder: Path) -> list:
    """The queues to deliver for `folder`: a run's own; a multirun's jobs' (those with records
    left), then its parent run's. None when there is none at all."""
    from pipeline.tracking.outbox import OUTBOX_DIR, Outbox, outboxes_under

    own = Outbox(folder)
    jobs = [o for o in outboxes_under(folder) if o.folder.parent != folder]
    if own.target() is not None:
        return [*jobs, own]
    if jobs or any(folder.rglob(f"{OUTBOX_DIR}/target.json")):
        return jobs  # a multirun whose parent queued nothing
    return None


def deliver(outbox) -> bool:
    """Deliver what `outbox` holds, in lines; False when something is left."""
    import mlflow
    from mlflow import MlflowClient

    from pipeline.tracking.delivery import Delivery, deliver_all
    from pipeline.tracking.outbox import OutboxBusy

    target, run_dir = outbox.target(), outbox.folder.parent
    if not outbox.pending():
        print(f"{run_dir}: nothing to deliver (run {target['run_id']})")
        return True
    try:
        outbox.take_delivery()
    except OutboxBusy:
        print(
            f"error: {run_dir}: its training is still running and delivers its own records",
            file=sys.stderr,
        )
        return False
    try:
        mlflow.set_tracking_uri(target["uri"])  # a model's registration goes there too
        report = deliver_all(Delivery(outbox, MlflowClient(target["uri"])))
    except Exception as error:  # noqa: BLE001 (the store away, or refusing: one line, nothing lost)
        print(
            f"error: {target['uri']} did not take the records of {run_dir} "
            f"({first_line(error)}); nothing is lost, run this again later",
            file=sys.stderr,
        )
        return False
    finally:
        outbox.release_delivery()
    print(
        f"{run_dir}: delivered {report.delivered} records to run {target['run_id']} of {target['uri']}"
    )
    for line in report.rejected:
        print(f"  not taken: {line}", file=sys.stderr)
    return True


def cli() -> None:
    """The `mnist-sync` command."""
    quiet_libraries()  # before MLflow's import
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    cli()
