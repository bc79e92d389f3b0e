"""Classification figures from predicted probabilities (numpy only: no TensorFlow)."""

from dataclasses import dataclass

import numpy as np

# Keras clips probabilities to [eps, 1 - eps] in its crossentropy; so do we.
_EPSILON = 1e-7


@dataclass(frozen=True)
class Evaluation:
    loss: float
    accuracy: float
    confusion: np.ndarray  # [true class, predicted class] counts
    precision: np.ndarray  # per class; nan for a class never predicted
    recall: np.ndarray  # per class; nan for a class absent from the labels

    def as_dict(self, prefix: str) -> dict:
        figures = {f"{prefix}_loss": self.loss, f"{prefix}_accuracy": self.accuracy}
        for k, (p, r) in enumerate(zip(self.precision, self.recall, strict=False)):
            figures[f"{prefix}_precision_class_{k}"] = float(p)
            figures[f"{prefix}_recall_class_{k}"] = float(r)
        return figures


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (labels.astype(np.int64), predicted.astype(np.int64)), 1)
    return counts


def evaluate_probabilities(probabilities: np.ndarray, labels: np.ndarray) -> Evaluation:
    num_classes = probabilities.shape[1]
    predicted = probabilities.argmax(axis=1)
    picked = np.clip(
        probabilities[np.arange(len(labels)), labels.astype(np.int64)], _EPSILON, 1 - _EPSILON
    )
    confusion = confusion_matrix(labels, predicted, num_classes)
    hits = np.diag(confusion).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = hits / confusion.sum(axis=0)
        recall = hits / confusion.sum(axis=1)
    return Evaluation(
        loss=float(-np.log(picked).mean()),
        accuracy=float((predicted == labels).mean()),
        confusion=confusion,
        precision=precision,
        recall=recall,
    )
