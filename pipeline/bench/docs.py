"""`python -m pipeline.bench.docs [RESULTS.json ...]` (run by `make bench`): the tables of
docs/performance.md, made from benchmark results rather than typed.

Each results file (`make bench` writes bench/results.json) replaces its sections in
docs/performance.json, the figures the page shows; then every block of the page between
`<!-- bench:SECTION -->` and `<!-- /bench:SECTION -->` is made again from them, with the machine,
the date and the command that measured it. Prose around the blocks says what the figures mean.
"""

import json
import sys
from collections.abc import Callable
from pathlib import Path

from pipeline import PROJECT_ROOT

PAGE = PROJECT_ROOT / "docs" / "performance.md"
FIGURES = PROJECT_ROOT / "docs" / "performance.json"
BLOCK = "<!-- bench:{} -->"
END = "<!-- /bench:{} -->"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def s(value: float) -> str:
    return f"{value:,.2f} s" if value < 10 else f"{value:,.1f} s"


def x(value: float) -> str:
    return f"{value:.2f}x"


def pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def startup(f: dict) -> str:
    return table(
        ["figure", "measured", "baseline in the same run", "ratio"],
        [
            [
                "`python -m pipeline.train --cfg job`",
                s(f["cfg_job_s"]),
                f"`import tensorflow`: {s(f['import_tensorflow_s'])}",
                x(f["cfg_job_vs_import_tensorflow"]),
            ],
            [
                "first training step (tracing)",
                s(f["first_step_s"]),
                f"a steady step: {s(f['steady_step_s'])}",
                x(f["first_step_vs_steady_step"]),
            ],
        ],
    )


def report(f: dict) -> str:
    return table(
        ["store", "`python -m pipeline.report`", "bare `mlflow.search_runs`", "ratio"],
        [
            ["multirun of 100 runs", s(f["report_s"]), s(f["baseline_s"]), x(f["ratio"])],
            [
                "search of 1,000 trials",
                s(f["search_report_s"]),
                s(f["search_baseline_s"]),
                x(f["search_ratio"]),
            ],
        ],
    )


def throughput(f: dict) -> str:
    rows = []
    for model in ("convnet", "tf_tutorial"):
        m = f[model]
        rows.append(
            [
                f"`{model}`",
                f"{m['pipeline_samples_per_s']:,.0f} samples/s; "
                f"{m['pipeline_cpu_us_per_sample']:,.0f} CPU-µs per sample "
                f"({pct(m['share_of_matmul_peak'])} of a {f['matmul_gflops']:.0f} GFLOP/s matmul)",
                f"{m['bare_keras_samples_per_s']:,.0f} samples/s; "
                f"{m['bare_keras_cpu_us_per_sample']:,.0f} CPU-µs per sample",
                f"{x(m['pipeline_vs_bare'])} by wall clock, {x(m['pipeline_vs_bare_by_cpu'])} by CPU",
            ]
        )
    return table(["model", "pipeline", "bare `model.fit`, same run", "ratio"], rows)


def tracking(f: dict) -> str:
    return table(
        ["inside tracking code", "epochs", "share", "tracked vs untracked wall time"],
        [
            [
                s(f["in_run_tracking_s"]),
                s(f["in_run_epochs_s"]),
                pct(f["in_run_share"]),
                f"{s(f['tracked_s'])} vs {s(f['untracked_s'])} (+{pct(f['overhead'])})",
            ]
        ],
    )


def time_to_99(f: dict) -> str:
    def reached(arm: dict) -> str:
        if arm["seconds_to_target"] is None:
            return "not reached"
        return f"{s(arm['seconds_to_target'])} ({arm['epochs_to_target']} epochs)"

    ratio = x(f["pipeline_vs_bare"]) if "pipeline_vs_bare" in f else "-"
    return table(
        ["target", "`make train` recipe", "bare `model.fit`, Adam, batch 128", "ratio"],
        [[f"{f['target']:.2%}", reached(f["pipeline"]), reached(f["bare_keras"]), ratio]],
    )


def pruning(f: dict) -> str:
    rows = [
        [
            arm.replace("_", " "),
            str(f[arm]["trials"]),
            str(f[arm]["epochs"]),
            f"{f[arm]['best_val_accuracy']:.4f}",
        ]
        for arm in ("without_pruning", "with_pruning")
    ]
    rows.append(["ratio", "", x(f["epoch_ratio"]), f"{f['accuracy_gap_points']:+.2f} points lost"])
    return table(["search", "trials", "epochs trained", "best val accuracy"], rows)


def searches(results: dict) -> str:
    """The search and the sweep against hand-written code, and where a job's time goes."""
    rows, parts = [], []
    for name in ("search", "multirun"):
        if name not in results:
            continue
        f = results[name]
        rows.append(
            [
                f"{name}, {f['jobs']} jobs x {f['epochs']} epochs",
                f"{s(f['pipeline_s'])}, {f['pipeline_trials_per_hour']:.0f}/h",
                f"{s(f['hand_written_s'])}, {f['hand_written_trials_per_hour']:.0f}/h",
                x(f["pipeline_vs_hand_written"]),
                " / ".join(
                    pct(f[key]) if key in f else "-"
                    for key in ("pipeline_steps_share", "hand_written_steps_share")
                ),
            ]
        )
        t = f["pipeline_trial"]
        if t:
            parts.append(
                [
                    name,
                    s(t["job_s"]),
                    s(t["training_steps_s"]),
                    s(t["tracing_s"]),
                    s(t["validation_s"]),
                    s(t["checkpoint_s"]),
                    s(t["runtime_s"] + t["data_s"] + t["model_s"]),
                    s(
                        t["tracking_start_s"]
                        + t["epoch_tracking_s"]
                        + t["results_metrics_and_files_s"]
                        + t["figures_s"]
                        + t["tracking_wait_s"]
                    ),
                    s(t["test_evaluation_s"]),
                    s(t["other_in_job_s"]),
                    s(t["outside_jobs_s"]),
                ]
            )
    out = table(
        [
            "",
            "pipeline",
            "hand-written, same run",
            "ratio",
            "wall time in training steps: pipeline / hand-written",
        ],
        rows,
    )
    if parts:
        out += "\n\nPer job (mean):\n\n" + table(
            [
                "",
                "job",
                "steps",
                "tracing",
                "validation",
                "checkpoints",
                "set-up",
                "tracking",
                "test set",
                "other",
                "outside jobs",
            ],
            parts,
        )
    return out


def search_parallel(f: dict) -> str:
    arms = [k for k, v in f.items() if isinstance(v, dict) and "trials_per_hour" in v]
    return table(
        ["arm (processes x threads)", "wall", "trials/h"],
        [[arm, s(f[arm]["wall_s"]), f"{f[arm]['trials_per_hour']:.0f}"] for arm in arms],
    )


def cluster_scale(f: dict) -> str:
    def latencies(part: dict) -> str:
        return f"{s(part['submit_to_start_s'])} / {s(part['job_s'])} / {s(part['end_to_record_s'])}"

    return table(
        ["figure", "measured"],
        [
            [
                "storage and store",
                {"sqlite": "SQLite files", "stack": "the team stack"}[f["storage"]],
            ],
            ["cluster ready", s(f["cluster_ready_s"])],
            [
                f"{f['complete']} of {f['trials']} trials COMPLETE, {f['nodes']} nodes",
                f"{s(f['wall_s'])}: {f['trials_per_hour']:,.0f} trials/h "
                f"against {f['ideal_trials_per_hour']:,.0f}/h ideal "
                f"({pct(f['trials_per_hour'] / f['ideal_trials_per_hour'])})",
            ],
            [
                "per trial, first 20: submission to start / job / end to record",
                latencies(f["first_20"]),
            ],
            ["per trial, last 20", latencies(f["last_20"])],
            [
                "the storage's cost of a trial (ask and tell), at 10 trials / all",
                f"{1000 * f['storage_cost_at_10_s']:.0f} ms / {1000 * f['storage_cost_at_all_s']:.0f} ms",
            ],
            ["`python -m pipeline.report` on the study", s(f["report_s"])],
        ],
    )


RENDERERS: dict[str, Callable[[dict], str]] = {
    "cluster_scale_sqlite": cluster_scale,
    "cluster_scale_stack": cluster_scale,
    "startup": startup,
    "report": report,
    "throughput": throughput,
    "tracking": tracking,
    "time_to_99": time_to_99,
    "pruning": pruning,
    "search_parallel": search_parallel,
}
# Blocks made from several sections: the block's name, then the sections it shows.
COMBINED = {"searches": ("search", "multirun")}


def provenance(entries: list[dict]) -> str:
    """Where and how the figures of a block were measured."""
    lines = []
    for entry in entries:
        m = entry["machine"]
        cpu = m.get("cpu_model") or m.get("processor", "?")
        lines.append(
            f"*Measured {m['date'][:10]} on {m['cpus']} cores of {cpu}"
            f"{' (AVX-512)' if m.get('avx512') else ''}: `{entry['command']}`*"
        )
    return "\n".join(dict.fromkeys(lines))


def render_block(name: str, figures: dict) -> str | None:
    present = [section for section in COMBINED.get(name, (name,)) if section in figures]
    if not present:
        return None
    if name in COMBINED:
        body = searches({section: figures[section]["figures"] for section in present})
    else:
        body = RENDERERS[name](figures[name]["figures"])
    return f"{body}\n\n{provenance([figures[section] for section in present])}"


def merge(figures: dict, results: dict) -> None:
    """The sections of one results file replace the same sections in `figures`."""
    command = results.get("command") or "python -m pipeline.bench"
    for section, values in results["sections"].items():
        figures[section] = {"figures": values, "machine": results["machine"], "command": command}


def rewrite(page: str, figures: dict) -> str:
    """`page` with every block made again from `figures` (a block without figures stays as it
    is). Raises ValueError for a block whose markers are not one begin before one end."""
    for name in [*RENDERERS, *COMBINED]:
        begin, end = BLOCK.format(name), END.format(name)
        if begin not in page and end not in page:
            continue
        if page.count(begin) != 1 or page.count(end) != 1 or page.index(begin) > page.index(end):
            raise ValueError(f"the block '{name}' needs one {begin} before one {end}")
        rendered = render_block(name, figures)
        if rendered is None:
            continue
        head, rest = page.split(begin, 1)
        _, tail = rest.split(end, 1)
        page = f"{head}{begin}\n{rendered}\n{end}{tail}"
    return page


def update(results_files: list[Path]) -> None:
    """Merge the results files into the page's figures and make its tables again: both files
    are written only once every block has rendered (atomically, so a failure leaves both as
    they were)."""
    from pipeline.files import replace_file
    from pipeline.run_state import write_json_atomically

    figures = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    for path in results_files:
        try:
            merge(figures, json.loads(Path(path).read_text()))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path} is not a benchmark results file ({error!r})") from None
    try:
        page = rewrite(PAGE.read_text(), figures)
    except (KeyError, TypeError) as error:
        raise ValueError(f"the figures lack what a table shows ({error!r})") from None
    write_json_atomically(FIGURES, figures)
    replace_file(PAGE, page)


def main(argv: list[str]) -> int:
    try:
        update([Path(p) for p in argv] or [PROJECT_ROOT / "bench" / "results.json"])
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{PAGE.relative_to(PROJECT_ROOT)}: tables made from {FIGURES.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
