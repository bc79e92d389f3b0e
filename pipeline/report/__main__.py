"""`mnist-report EXPERIMENT [--all] [--target 0.99] [--tracking-uri URI] [overrides...]`
(or `python -m pipeline.report ...`).

Overrides are the training config's (`paths.output_dir=...`, `tracking.experiment_name=...`):
the report reads the store and the experiment the same overrides would train into.
"""

import argparse
import sys

from pipeline.processes.console import quiet_libraries


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="mnist-report",
        description=(
            "Compare the runs of a named experiment per arm: a table (Markdown, CSV, terminal) and two plots."
        ),
    )
    parser.add_argument("experiment", help="a named experiment: experiments/NAME.yaml")
    parser.add_argument(
        "overrides", nargs="*", help="training config overrides, e.g. tracking.experiment_name=x"
    )
    parser.add_argument(
        "--all",
        dest="all_runs",
        action="store_true",
        help="every run of the experiment, not only its latest multirun",
    )
    parser.add_argument(
        "--target",
        type=float,
        default=None,
        help="validation accuracy for 'epochs to target' (default: conf/report.yaml)",
    )
    parser.add_argument(
        "--tracking-uri", default=None, help="the MLflow store (default: tracking.uri)"
    )
    return parser.parse_intermixed_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    from pipeline.report.build import make_report  # MLflow and pandas: after the arguments parsed
    from pipeline.report.settings import ReportError, report_settings

    try:
        settings = report_settings(
            args.experiment, args.overrides, args.tracking_uri, args.target, args.all_runs
        )
        report = make_report(settings)
    except ReportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report.text)
    print(f"\nwrote {', '.join(path.name for path in report.files)} to {settings.output_dir}")
    if report.parent_run_id:
        print(f"logged them to parent run {report.parent_run_id} under report/")
    print(f"\n{report.links.text()}")
    return 0


def cli() -> None:
    """The `mnist-report` command."""
    quiet_libraries()  # before MLflow's import: no INFO lines from it
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    cli()
