"""The report's two plots, as PNG: validation accuracy per epoch by arm, and test accuracy by arm.

Fixed layouts (no `tight_layout`, which measures every text several times): the legend
and the arm labels get margins of their own, so the plots cost tenths of a second.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.plotting import agg_figure


def validation_curves(curves: dict[str, list[pd.Series]], path: Path, title: str) -> None:
    """Per arm: the mean over its runs at each epoch, with a band of ± one standard deviation."""
    from matplotlib.ticker import MaxNLocator

    fig = agg_figure(11, 5)
    fig.subplots_adjust(
        left=0.07, right=0.66, bottom=0.11, top=0.92
    )  # the legend sits to the right
    ax = fig.subplots()
    for label, histories in curves.items():
        by_epoch = pd.concat(histories, axis=1)  # rows: 0-based epochs, columns: runs
        epochs = by_epoch.index.to_numpy() + 1
        mean, std = by_epoch.mean(axis=1), by_epoch.std(axis=1).fillna(0)
        (line,) = ax.plot(epochs, mean, marker="o", label=f"{label} (n={by_epoch.shape[1]})")
        ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    ax.set(title=title, xlabel="epoch", ylabel="validation accuracy")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.savefig(path)


def test_accuracy_bars(
    labels: list[str], means: np.ndarray, stds: np.ndarray, path: Path, title: str
) -> None:
    """Mean final test accuracy per arm, with ± one standard deviation as error bars."""
    fig = agg_figure(max(6, 0.6 * len(labels) + 2), 6)
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.32, top=0.93)  # room for slanted arm labels
    ax = fig.subplots()
    positions = np.arange(len(labels))
    ax.bar(positions, means, yerr=np.nan_to_num(stds), capsize=4, color="tab:blue", alpha=0.8)
    finite = means[np.isfinite(means)]
    if finite.size:  # zoom in: arms often differ in the third decimal
        spread = np.nan_to_num(stds).max()
        ax.set_ylim(
            max(0.0, finite.min() - 2 * spread - 0.01), min(1.0, finite.max() + 2 * spread + 0.01)
        )
    ax.set_xticks(positions, labels, rotation=35, ha="right", rotation_mode="anchor", fontsize=8)
    ax.set(title=title, ylabel="test accuracy")
    ax.grid(axis="y", alpha=0.3)
    fig.savefig(path)
