"""`python -m pipeline.stack` (make server, make server-stop) on bad input."""
from pipeline.stack.__main__ import USAGE, main


def test_a_mistyped_override_is_one_line_and_exit_2(capsys):
    assert main(["status", "tracking.server.portt=1"]) == 2
    assert capsys.readouterr().err == (
        "error: Could not override 'tracking.server.portt': Key 'portt' not in 'StackServerConfig'\n")


def test_an_unknown_action_prints_the_usage_and_exit_2(capsys):
    assert main(["restart"]) == 2
    assert capsys.readouterr().err == USAGE + "\n"
