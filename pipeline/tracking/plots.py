"""Figures for a run, as PNG files: learning curves, confusion matrix, misclassified images.

Matplotlib is imported inside each function with the Agg backend: no display needed,
and nothing pays its import unless a figure is drawn.
"""
from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def learning_curves(history: dict[str, list[float]], path: Path) -> None:
    """Loss and accuracy per epoch, training beside validation."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for key, label in ((metric, "train"), (f"val_{metric}", "validation")):
            if key in history:
                epochs = np.arange(1, len(history[key]) + 1)
                ax.plot(epochs, history[key], marker="o", label=label)
        ax.set(title=metric, xlabel="epoch")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def confusion_matrix(confusion: np.ndarray, path: Path) -> None:
    """Counts of [true class, predicted class], numbered in each cell."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 6))
    image = ax.imshow(confusion, cmap="Blues")
    fig.colorbar(image, ax=ax)
    classes = np.arange(confusion.shape[0])
    ax.set(xticks=classes, yticks=classes, xlabel="predicted", ylabel="true", title="test confusion matrix")
    threshold = confusion.max() / 2
    for (true, predicted), count in np.ndenumerate(confusion):
        ax.text(predicted, true, str(count), ha="center", va="center", fontsize=7,
                color="white" if count > threshold else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def misclassified_grid(images: np.ndarray, labels: np.ndarray, probabilities: np.ndarray,
                       path: Path, columns: int = 8, rows: int = 4) -> None:
    """The most confidently wrong test images, titled `true -> predicted (confidence)`."""
    plt = _pyplot()
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    wrong = wrong[np.argsort(-probabilities[wrong, predicted[wrong]])][:columns * rows]
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.3, rows * 1.5))
    for ax in axes.flat:
        ax.axis("off")
    for ax, index in zip(axes.flat, wrong):
        ax.imshow(images[index], cmap="gray_r")
        ax.set_title(f"{labels[index]}->{predicted[index]} ({probabilities[index, predicted[index]]:.2f})",
                     fontsize=7)
    fig.suptitle(f"{len(wrong)} most confident mistakes of {np.count_nonzero(predicted != labels)}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
