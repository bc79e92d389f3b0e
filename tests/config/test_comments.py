"""Every value in conf/ and experiments/ says on its line what it means (its unit or range,
where its default comes from): the files are the documentation of the settings."""

import re

import pytest

from pipeline import PROJECT_ROOT

# `key: value` or a defaults entry `- group: option`; not a mapping's header (`key:` alone).
VALUE_LINE = re.compile(r"^\s*(- )?[\w./@+~ -]+:\s*[^\s#]")
BLOCK_START = re.compile(r":\s*[|>]-?\s*(#.*)?$")  # a multi-line text follows, more indented
FILES = sorted(
    [*(PROJECT_ROOT / "conf").rglob("*.yaml"), *(PROJECT_ROOT / "experiments").rglob("*.yaml")]
)


def value_lines(text: str) -> list[str]:
    lines, block_indent = [], None
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip())
        if block_indent is not None and (not line.strip() or indent > block_indent):
            continue  # inside a multi-line text: prose, not settings
        block_indent = indent if BLOCK_START.search(line) else None
        if VALUE_LINE.match(line):
            lines.append(line)
    return lines


@pytest.mark.parametrize("path", FILES, ids=lambda path: str(path.relative_to(PROJECT_ROOT)))
def test_every_value_line_has_a_comment(path):
    bare = [line for line in value_lines(path.read_text()) if "#" not in line]
    assert bare == []
