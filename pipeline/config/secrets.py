"""Secrets typed on a command line are taken out of it before Hydra sees the overrides.

Hydra writes every override it parses into `.hydra/overrides.yaml`, `hydra.yaml` and a sweep's
`multirun.yaml`, and the tracker logs those files as artifacts; jobs on other machines receive
them too. So `tracking.server.password=...`, and the password inside a PostgreSQL URL, leave
the overrides here and travel in `PGPASSWORD`, PostgreSQL's own variable, which libpq reads
for every connection that names no password, in this process and in the jobs it starts.
"""
import os
import re
from urllib.parse import unquote

PASSWORD_ENV = "PGPASSWORD"
PASSWORD_OVERRIDE = re.compile(r"^\+{0,2}tracking\.server\.password=(?P<password>.*)$")
# postgresql://user:PASSWORD@host..., postgresql+psycopg://... (any SQLAlchemy driver suffix)
_URL_PASSWORD = re.compile(r"(?P<head>postgres(?:ql)?(?:\+\w+)?://[^:/@\s]+):(?P<password>[^@\s]+)@")


def take_secrets(overrides: list[str]) -> list[str]:
    """`overrides` without any password in them; a password found goes to `PGPASSWORD`."""
    kept = []
    for override in overrides:
        match = PASSWORD_OVERRIDE.match(override)
        if match:
            _export(match["password"])
            continue
        url = _URL_PASSWORD.search(override)
        if url:
            _export(unquote(url["password"]))
            override = _URL_PASSWORD.sub(r"\g<head>@", override)
        kept.append(override)
    return kept


def _export(password: str) -> None:
    os.environ[PASSWORD_ENV] = password.strip("'\"")
