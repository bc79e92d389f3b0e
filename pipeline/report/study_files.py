"""What the study says about its parameters: Optuna's importances and its plots of the
objective against each parameter and against the trial number.

They run as a process of their own (`python -m pipeline.report.study_files STORAGE STUDY FOLDER
TITLE`), started by the report before it imports MLflow, so that importing Optuna's importances
(scikit-learn) and its plots (matplotlib) overlaps the report's MLflow queries and trial table.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from pipeline.report.search import load_study, objective_names
from pipeline.report.settings import ReportError

IMPORTANCES_CSV = "importances.csv"
SLICE_PNG, HISTORY_PNG = "objective_by_parameter.png", "objective_by_trial.png"


def importances(study) -> pd.Series:
    """Optuna's parameter importances on the first objective; empty while too few trials finished."""
    import optuna

    # One objective: Optuna reads its direction itself. Several: the first, made "lower is better".
    sign = -1.0 if study.directions[0].name == "MAXIMIZE" else 1.0
    target = None if len(study.directions) == 1 else (lambda t: sign * t.values[0])
    try:
        found = optuna.importance.get_param_importances(study, target=target)
    except (ValueError, RuntimeError):  # fewer than two finished trials, or one parameter value
        return pd.Series(dtype=float, name="importance")
    return pd.Series(found, dtype=float, name="importance")


def plots(study, out: Path, title: str) -> list[Path]:
    """Optuna's own: the objective against each parameter, and against the trial number."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.exceptions import ExperimentalWarning
    from optuna.visualization import matplotlib as vis

    if not any(t.state.name == "COMPLETE" for t in study.get_trials(deepcopy=False)):
        return []
    target = None if len(study.directions) == 1 else (lambda t: t.values[0])
    name = objective_names(study)[0]
    paths = []
    for file, draw in ((SLICE_PNG, vis.plot_slice), (HISTORY_PNG, vis.plot_optimization_history)):
        with warnings.catch_warnings():  # Optuna marks its matplotlib plots experimental
            warnings.simplefilter("ignore", ExperimentalWarning)
            axes = draw(study, target=target, target_name=name)
        figure = (axes.flat[0] if hasattr(axes, "flat") else axes).figure
        figure.suptitle(title)
        figure.savefig(out / file, dpi=100)
        plt.close(figure)
        paths.append(out / file)
    return paths


def write(storage: str, study_name: str, out: Path, title: str) -> None:
    study = load_study(storage, study_name)
    out.mkdir(parents=True, exist_ok=True)
    importances(study).rename_axis("parameter").to_csv(out / IMPORTANCES_CSV)
    plots(study, out, title)


class StudyFiles:
    """`write` running in a child process, into a folder of its own until `result()` moves its
    files to the report's: a report that fails meanwhile leaves none of them behind."""

    def __init__(self, storage: str, study_name: str, title: str):
        self.study_name = study_name
        self.folder = Path(tempfile.mkdtemp(prefix="study-figures-"))
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__, storage, study_name, str(self.folder), title],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def result(self, out: Path) -> tuple[pd.Series, list[Path]]:
        """The importances (parameter -> share) and the files, moved to `out` (the CSV first)."""
        _, stderr = self.process.communicate()
        if self.process.returncode != 0:
            lines = stderr.strip().splitlines()
            raise ReportError(
                lines[-1].removeprefix("error: ")
                if lines
                else f"{__name__} exited with status {self.process.returncode}"
            )
        table = pd.read_csv(self.folder / IMPORTANCES_CSV, index_col="parameter")["importance"]
        files = []
        for name in (IMPORTANCES_CSV, SLICE_PNG, HISTORY_PNG):
            if (self.folder / name).exists():
                files.append(Path(shutil.move(self.folder / name, out / name)))
        return table, files

    def stop(self) -> None:
        """Ends the process if it still runs (the report failed or needs no figures) and its folder."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stderr.close()
        shutil.rmtree(self.folder, ignore_errors=True)


if __name__ == "__main__":
    try:
        write(sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4])
    except ReportError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
