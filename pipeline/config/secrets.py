"""Secrets typed on a command line are taken out of it before Hydra sees the overrides.

Hydra writes every override it parses into `.hydra/overrides.yaml`, `hydra.yaml` and a sweep's
`multirun.yaml`, and the tracker logs those files as artifacts; jobs on other machines receive
them too. So `tracking.server.password=...`, and the password inside a PostgreSQL URL (as
`user:PASSWORD@` or a `password=` parameter), leave the overrides here and travel in
`PGPASSWORD`, PostgreSQL's own variable, which libpq reads for every connection that names no
password, in this process and in the jobs it starts.
"""

import os
import re
from urllib.parse import unquote

PASSWORD_ENV = "PGPASSWORD"
PASSWORD_OVERRIDE = re.compile(r"^\+{0,2}tracking\.server\.password=(?P<password>.*)$", re.DOTALL)
# postgresql://user:PASSWORD@host..., postgresql+psycopg://... (any SQLAlchemy driver suffix); the
# password runs to the URL's last "@", so an unencoded "@" in it is taken whole.
_URL_PASSWORD = re.compile(
    r"(?P<head>postgres(?:ql)?(?:\+\w+)?://[^:/@\s]+):(?P<password>\S*)@(?=[^@\s]*$)"
)
_URL_PASSWORD_PARAMETER = re.compile(
    r"(?P<head>postgres(?:ql)?(?:\+\w+)?://\S*?[?&])password=(?P<password>[^&\s]*)&?"
)


def take_secrets(overrides: list[str]) -> list[str]:
    """`overrides` without any password in them; a password found goes to `PGPASSWORD`."""
    kept = []
    for override in overrides:
        match = PASSWORD_OVERRIDE.match(override)
        if match:
            _export(_unquoted(match["password"]))
            continue
        kept.append(take_url_password(override))
    return kept


def take_url_password(text: str) -> str:
    """`text` with a PostgreSQL URL's password taken out (to `PGPASSWORD`)."""
    for pattern in (_URL_PASSWORD, _URL_PASSWORD_PARAMETER):
        match = pattern.search(text)
        if match:
            _export(unquote(match["password"]))
            text = pattern.sub(
                r"\g<head>@" if pattern is _URL_PASSWORD else r"\g<head>", text
            ).rstrip("?&")
    return text


def _unquoted(value: str) -> str:
    """Hydra's quoting of an override's value ('...' or "..."), undone; anything else as typed."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1].replace("\\" + value[0], value[0])
    return value


def _export(password: str) -> None:
    os.environ[PASSWORD_ENV] = password
