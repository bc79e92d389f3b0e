"""A one-line error for an unknown group option on the command line (`optimizer=nope`).

Hydra reports the same mistake over a screenful; this check runs first and only for
plain `group=option[,option...]` overrides, leaving everything else to Hydra.
"""

import re

from pipeline import PROJECT_ROOT

CONFIG_DIRS = (PROJECT_ROOT / "conf", PROJECT_ROOT)
_PLAIN_CHOICE = re.compile(r"^(?P<group>[a-z_]+)=(?P<options>[\w.,-]+)$")


def group_options(group: str) -> list[str]:
    """The options of a config group: the yaml files in its folder, on every search root."""
    folders = [root / group for root in CONFIG_DIRS if (root / group).is_dir()]
    return sorted({p.stem for folder in folders for p in folder.glob("*.yaml")})


def unknown_choice(overrides: list[str]) -> str | None:
    """The first override naming an option its group lacks, as an error message."""
    for override in overrides:
        match = _PLAIN_CHOICE.match(override)
        if not match:
            continue
        group = match["group"]
        options = group_options(group)
        if not options:
            continue  # not a group: a plain key, Hydra's business
        for option in match["options"].split(","):
            if option not in options and option != "null":
                return f"{group}={option} is unknown; choose one of: {', '.join(options)}"
    return None
