"""The report's two plots, as PNG: validation accuracy per epoch by arm, and test accuracy by arm.

Matplotlib is imported inside each function with the Agg backend: no display needed.
"""
from pathlib import Path

import numpy as np
import pandas as pd


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    return plt, MaxNLocator


def validation_curves(curves: dict[str, list[pd.Series]], path: Path, title: str) -> None:
    """Per arm: the mean over its runs at each epoch, with a band of ± one standard deviation."""
    plt, MaxNLocator = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    for label, histories in curves.items():
        by_epoch = pd.concat(histories, axis=1)          # rows: 0-based epochs, columns: runs
        epochs = by_epoch.index.to_numpy() + 1
        mean, std = by_epoch.mean(axis=1), by_epoch.std(axis=1).fillna(0)
        (line,) = ax.plot(epochs, mean, marker="o", label=f"{label} (n={by_epoch.shape[1]})")
        ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    ax.set(title=title, xlabel="epoch", ylabel="validation accuracy")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def test_accuracy_bars(labels: list[str], means: np.ndarray, stds: np.ndarray, path: Path, title: str) -> None:
    """Mean final test accuracy per arm, with ± one standard deviation as error bars."""
    plt, _ = _pyplot()
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(labels)), 5))
    positions = np.arange(len(labels))
    ax.bar(positions, means, yerr=np.nan_to_num(stds), capsize=6, color="tab:blue", alpha=0.8)
    finite = means[np.isfinite(means)]
    if finite.size:   # zoom in: arms often differ in the third decimal
        spread = np.nan_to_num(stds).max()
        ax.set_ylim(max(0.0, finite.min() - 2 * spread - 0.01), min(1.0, finite.max() + 2 * spread + 0.01))
    ax.set_xticks(positions, labels, rotation=20, ha="right", fontsize=8)
    ax.set(title=title, ylabel="test accuracy")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
