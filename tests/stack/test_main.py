"""`python -m pipeline.stack` (make server, make server-stop) on bad input."""

from pipeline.stack.__main__ import USAGE, main


def test_a_mistyped_override_is_one_line_and_exit_2(capsys):
    assert main(["status", "tracking.server.portt=1"]) == 2
    assert capsys.readouterr().err == (
        "error: Could not override 'tracking.server.portt': Key 'portt' not in 'StackServerConfig'\n"
    )


def test_an_unknown_action_prints_the_usage_and_exit_2(capsys):
    assert main(["restart"]) == 2
    assert capsys.readouterr().err == USAGE + "\n"


def test_beyond_loopback_a_short_or_default_password_is_refused_before_anything_is_written(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.delenv("PGPASSWORD", raising=False)  # main() puts the typed password there
    folder = tmp_path / "stack"
    for password in ("mnist", "short-pw"):
        assert (
            main(
                [
                    "start",
                    "tracking.server.host=10.9.9.9",
                    f"tracking.server.dir={folder}",
                    f"tracking.server.password={password}",
                ]
            )
            == 2
        )
        error = capsys.readouterr().err
        assert (
            error.startswith(
                "error: the stack listens on 10.9.9.9, beyond loopback: its password must have "
                "at least 12 characters"
            )
            and error.count("\n") == 1
            and password not in error
        )
    assert not folder.exists()


def test_allow_entries_that_are_not_networks_are_refused(tmp_path, capsys):
    assert (
        main(["status", "tracking.server.allow=[10.0.0.1/8]", f"tracking.server.dir={tmp_path}"])
        == 2
    )
    assert capsys.readouterr().err == "error: tracking.server.allow: 10.0.0.1/8 has host bits set\n"


def test_add_user_needs_a_name_and_a_known_role(capsys):
    assert main(["add-user"]) == 2 and main(["add-user", "bob", "--role", "owner"]) == 2
    assert capsys.readouterr().err == (USAGE + "\n") * 2


def test_a_user_name_that_is_not_plain_is_refused_before_anything(tmp_path, capsys):
    assert main(["add-user", "../../etc/x", f"tracking.server.dir={tmp_path}/stack"]) == 1
    assert capsys.readouterr().err.startswith("error: user name '../../etc/x': letters, digits")
    assert not (tmp_path / "stack").exists()


def test_the_stacks_certificates_pass_a_strict_x509_check(tmp_path):
    """Python 3.13's default TLS context is strict (key identifiers, key usage)."""
    import shutil
    import subprocess

    import pytest

    from pipeline.stack.tls import StackCertificates, names_in

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    certificates = StackCertificates(tmp_path)
    certificates.ensure("stack.example.org", ["10.0.0.5"])
    assert names_in(certificates.certificate) >= {
        "stack.example.org",
        "10.0.0.5",
        "127.0.0.1",
        "localhost",
    }
    result = subprocess.run(
        [
            "openssl",
            "verify",
            "-x509_strict",
            "-CAfile",
            str(certificates.ca_file),
            str(certificates.certificate),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert {path.stat().st_mode & 0o777 for path in tmp_path.iterdir()} == {0o600}
