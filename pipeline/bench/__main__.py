"""`python -m pipeline.bench` (`make bench`): every figure beside a baseline measured in the same run.

Sections: startup, report (100 runs, against a bare MLflow query), throughput (both seed CNNs, against bare Keras fit), tracking (on vs
off), time_to_99 (the `make train` recipe against bare Keras fit with Adam at batch 128),
and pruning (the default search with and without its pruner); on request only, being long
(about 2.5 hours on 2 cores at their default size and 3 repeats): search and multirun (a search
and the `optimizers` multirun on a subset, whole processes, against the loops a user writes by
hand) and search_parallel (trials per hour of that search with 1 worker x 2 threads against
2 x 1). Results go to the terminal, to a JSON file, and to an MLflow run in the `benchmarks`
experiment.
"""

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import sys
import tempfile
from pathlib import Path
from statistics import median

from pipeline import PROJECT_ROOT
from pipeline.bench.search_parallel import ARMS as PARALLEL_ARMS
from pipeline.config.compose import compose_config

DEFAULT_SECTIONS = ("startup", "report", "throughput", "tracking", "time_to_99", "pruning")
SECTIONS = (*DEFAULT_SECTIONS, "search", "multirun", "search_parallel")
TARGET_ACCURACY = 0.99


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--sections",
        nargs="+",
        choices=SECTIONS,
        default=list(DEFAULT_SECTIONS),
        help=f"default: {' '.join(DEFAULT_SECTIONS)}",
    )
    parser.add_argument(
        "--timed-epochs", type=int, default=3, help="whole epochs timed after a warm-up epoch"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="runs of each start-up command, and of each arm of the search sections",
    )
    parser.add_argument(
        "--max-train-samples", type=int, default=None, help="a smaller training set (quick checks)"
    )
    search = parser.add_argument_group(
        "search, multirun and search_parallel: the subset every job trains on"
    )
    search.add_argument(
        "--search-trials",
        type=int,
        default=12,
        help="trials of the search (enqueued parameter sets)",
    )
    search.add_argument(
        "--search-epochs", type=int, default=3, help="epochs of every trial and multirun job"
    )
    search.add_argument(
        "--search-train-samples", type=int, default=8192, help="training images of every job"
    )
    search.add_argument(
        "--search-eval-samples",
        type=int,
        default=2000,
        help="validation images of every job (and test images, where a job evaluates them)",
    )
    search.add_argument(
        "--multirun-params",
        nargs="*",
        default=["trainer.seed=1"],
        metavar="KEY=V1,V2",
        help="replace entries of the optimizers experiment's grid (default: one seed, 6 jobs)",
    )
    search.add_argument(
        "--pipeline-overrides",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="overrides for the pipeline's side only, to measure a lever "
        "(e.g. trainer.reuse_traced=false)",
    )
    search.add_argument(
        "--parallel-arms",
        nargs="+",
        default=list(PARALLEL_ARMS),
        choices=list(PARALLEL_ARMS),
        help="workers x threads to compare (2x1: worker processes, as make tune WORKERS=2)",
    )
    parser.add_argument("--output", type=Path, default=PROJECT_ROOT / "bench" / "results.json")
    parser.add_argument("--no-mlflow", action="store_true", help="do not log the results to MLflow")
    parser.add_argument(
        "--docs",
        action="store_true",
        help="make docs/performance.md's tables of these sections from the results (make bench)",
    )
    return parser.parse_args(argv)


def cpu_flags() -> tuple[str, bool]:
    """The CPU's model name and whether it has AVX-512 (machines of one kind differ about 3x
    with and without it: a figure names which it came from)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "", False
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in info.splitlines()
            if line.startswith("model name")
        ),
        "",
    )
    return model, " avx512f" in info


def machine() -> dict:
    model, avx512 = cpu_flags()
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "avx512": avx512,
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "date": dt.datetime.now().isoformat(timespec="seconds"),
    }


def sample_limit(args: argparse.Namespace) -> list[str]:
    return [f"trainer.max_train_samples={args.max_train_samples}"] if args.max_train_samples else []


def training_overrides(args: argparse.Namespace, tmp: str, *extra: str) -> list[str]:
    return [
        f"paths.output_dir={tmp}",
        "tracking.enabled=false",
        "trainer.resume=false",
        "trainer.verbose=0",
        *sample_limit(args),
        *extra,
    ]


def bench_startup(args: argparse.Namespace, tmp: str) -> dict:
    from pipeline.bench.startup import command_seconds, first_step_seconds

    figures = {
        "python_s": command_seconds(["-c", "pass"], args.repeats),
        "import_tensorflow_s": command_seconds(["-c", "import tensorflow"], args.repeats),
        "cfg_job_s": command_seconds(["-m", "pipeline.train", "--cfg", "job"], args.repeats),
    }
    figures["cfg_job_vs_import_tensorflow"] = figures["cfg_job_s"] / figures["import_tensorflow_s"]
    figures.update(first_step_seconds(compose_config(*training_overrides(args, tmp))))
    figures["first_step_vs_steady_step"] = figures["first_step_s"] / figures["steady_step_s"]
    return figures


def bench_report(args: argparse.Namespace, tmp: str) -> dict:
    from pipeline.bench.report_speed import measure_report_speed, measure_search_report_speed

    search = measure_search_report_speed(repeats=args.repeats)
    return {
        **measure_report_speed(repeats=args.repeats),
        **{f"search_{key}": value for key, value in search.items()},
    }


def bench_throughput(args: argparse.Namespace, tmp: str) -> dict:
    from pipeline.bench.flops import matmul_gflops, training_flops_per_sample
    from pipeline.bench.throughput import bare_keras_fit, pipeline_fit
    from pipeline.training.models import build_model

    figures = {"matmul_gflops": matmul_gflops()}
    for model in ("convnet", "tf_tutorial"):
        cfg = compose_config(
            *training_overrides(
                args, tmp, f"model={model}", f"trainer.epochs={1 + args.timed_epochs}"
            )
        )
        bare = bare_keras_fit(cfg, 1 + args.timed_epochs)
        ours = pipeline_fit(cfg, 1 + args.timed_epochs)
        bare_speed, our_speed = median(bare.samples_per_second), median(ours.samples_per_second)
        bare_cpu, our_cpu = median(bare.cpu_us_per_sample), median(ours.cpu_us_per_sample)
        gflops = our_speed * training_flops_per_sample(build_model(cfg.model)) / 1e9
        figures[model] = {
            "bare_keras_samples_per_s": bare_speed,
            "pipeline_samples_per_s": our_speed,
            "pipeline_vs_bare": our_speed / bare_speed,
            "bare_keras_cpu_us_per_sample": bare_cpu,
            "pipeline_cpu_us_per_sample": our_cpu,
            # > 1: the pipeline spends less CPU on a sample (the steadier ratio on a shared host)
            "pipeline_vs_bare_by_cpu": bare_cpu / our_cpu,
            "pipeline_gflops": gflops,
            "share_of_matmul_peak": gflops / figures["matmul_gflops"],
        }
    return figures


def bench_tracking(args: argparse.Namespace, tmp: str) -> dict:
    from pipeline.bench.tracking_overhead import measure_overhead

    return measure_overhead(["trainer.verbose=0", "trainer.epochs=2", *sample_limit(args)])


def bench_time_to_99(args: argparse.Namespace, tmp: str) -> dict:
    from pipeline.bench.accuracy import bare_time_to, pipeline_time_to

    ours = pipeline_time_to(compose_config(*training_overrides(args, tmp)), TARGET_ACCURACY)
    bare_cfg = compose_config(
        *training_overrides(
            args, tmp, "optimizer=adam", "schedule=constant", "trainer.batch_size=128"
        )
    )
    bare = bare_time_to(bare_cfg, TARGET_ACCURACY, max_epochs=4)
    figures = {"target": TARGET_ACCURACY, "pipeline": ours, "bare_keras": bare}
    if ours["seconds_to_target"] and bare["seconds_to_target"]:
        figures["pipeline_vs_bare"] = ours["seconds_to_target"] / bare["seconds_to_target"]
    return figures


# The same search with and without pruning, sized to finish in minutes on 2 cores.
PRUNING_SEARCH = (
    "trainer.epochs=6",
    "trainer.max_train_samples=8192",
    "hydra.sweeper.n_trials=12",
    "trainer.verbose=0",
)
PRUNER = "successive_halving"


def bench_pruning(args: argparse.Namespace, tmp: str) -> dict:
    from pipeline.bench.pruning import pruning_benchmark

    return {
        "pruner": PRUNER,
        **pruning_benchmark(PRUNING_SEARCH, pruner=PRUNER, workdir=Path(tmp) / "pruning"),
    }


def search_subset(args: argparse.Namespace):
    from pipeline.bench.search_speed import Subset

    return Subset(args.search_epochs, args.search_train_samples, args.search_eval_samples)


def bench_search(args: argparse.Namespace, tmp: str) -> dict:
    from pipeline.bench.search_speed import search_benchmark

    return search_benchmark(
        search_subset(args),
        args.search_trials,
        args.repeats,
        Path(tmp) / "search",
        args.pipeline_overrides,
    )


def bench_multirun(args: argparse.Namespace, tmp: str) -> dict:
    from pipeline.bench.search_speed import multirun_benchmark

    return multirun_benchmark(
        search_subset(args),
        args.multirun_params,
        args.repeats,
        Path(tmp) / "multirun",
        args.pipeline_overrides,
    )


def bench_search_parallel(args: argparse.Namespace, tmp: str) -> dict:
    from pipeline.bench.search_parallel import parallel_benchmark

    result = parallel_benchmark(
        search_subset(args),
        args.search_trials,
        args.repeats,
        Path(tmp) / "search_parallel",
        args.parallel_arms,
    )
    print(f"  fastest: {result['fastest']}", flush=True)
    return result


def flatten(figures: dict, prefix: str = "") -> dict[str, float]:
    flat = {}
    for key, value in figures.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[name] = float(value)
    return flat


def log_to_mlflow(results: dict) -> str:
    import mlflow

    from pipeline.tracking.store import prepare_store

    cfg = compose_config()
    prepare_store(cfg.tracking.uri, cfg.tracking.connect_timeout)
    mlflow.set_tracking_uri(cfg.tracking.uri)
    mlflow.set_experiment("benchmarks")
    with mlflow.start_run(run_name=f"bench-{results['machine']['date']}") as run:
        mlflow.log_params({f"machine.{k}": v for k, v in results["machine"].items()})
        mlflow.log_metrics(
            {k.replace("@", "_"): v for k, v in flatten(results["sections"]).items()}
        )
        mlflow.log_dict(results, "results.json")
    return run.info.run_id


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    bench = {
        "startup": bench_startup,
        "report": bench_report,
        "throughput": bench_throughput,
        "tracking": bench_tracking,
        "time_to_99": bench_time_to_99,
        "pruning": bench_pruning,
        "search": bench_search,
        "multirun": bench_multirun,
        "search_parallel": bench_search_parallel,
    }
    results = {
        "machine": machine(),
        "command": shlex.join(["python", "-m", "pipeline.bench", *argv]),
        "arguments": {k: str(v) for k, v in vars(args).items()},
        "sections": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for section in args.sections:
            print(f"== {section}", flush=True)
            results["sections"][section] = bench[section](args, tmp)
            for key, value in flatten(results["sections"][section]).items():
                print(f"  {key:55s} {value:12.4g}", flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2))
    print(f"results in {args.output}")
    if not args.no_mlflow:
        print(f"MLflow run {log_to_mlflow(results)} in experiment 'benchmarks'")
    if args.docs:
        from pipeline.bench import docs

        docs.update([args.output])
        print(f"tables of {', '.join(args.sections)} made again in docs/performance.md")
    return 0


def cli() -> None:
    """The `mnist-bench` command."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    cli()
