"""The arm table for people (Markdown, terminal: `mean ± std`) and for programs (CSV: one number a cell)."""

import math

import pandas as pd

_MISSING = "–"  # no finished run, or a spread of a single run


def _number(value: float, digits: int) -> str:
    return (
        _MISSING
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:.{digits}f}"
    )


def readable(table: pd.DataFrame, keys: list[str], target: float) -> pd.DataFrame:
    """The table's cells as text: accuracies `0.9912 ± 0.0008`, epochs to target `2.3 (3/3)`."""

    def spread(row: pd.Series, name: str) -> str:
        mean, std = row[f"{name}_mean"], row[f"{name}_std"]
        return _number(mean, 4) if math.isnan(std) else f"{_number(mean, 4)} ± {_number(std, 4)}"

    rows = []
    for _, row in table.iterrows():
        reached = int(row[f"reached_{target:g}"])
        rows.append(
            {
                **{key: row[key] for key in keys},
                "runs": int(row["runs"]),
                "test accuracy": spread(row, "test_accuracy"),
                "best val accuracy": spread(row, "best_val_accuracy"),
                f"epochs to {target:g} val acc": (
                    f"{_number(row[f'epochs_to_{target:g}'], 1)} ({reached}/{int(row['runs'])})"
                ),
                "s/epoch": _number(row["seconds_per_epoch"], 2),
                "pruned": int(row["pruned"]),
                "failed": int(row["failed"]),
                "running": int(row["running"]),
            }
        )
    return pd.DataFrame(rows)


def markdown(cells: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (pandas needs the `tabulate` package for its own)."""
    header = "| " + " | ".join(map(str, cells.columns)) + " |"
    rule = "|" + "|".join("---" for _ in cells.columns) + "|"
    body = [
        "| " + " | ".join(str(value) for value in row) + " |"
        for row in cells.itertuples(index=False)
    ]
    return "\n".join([header, rule, *body]) + "\n"


def terminal(cells: pd.DataFrame) -> str:
    return cells.to_string(index=False)
