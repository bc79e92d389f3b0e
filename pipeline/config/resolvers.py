"""OmegaConf resolvers the configs use."""

import ipaddress
import os

from omegaconf import OmegaConf

from pipeline import PROJECT_ROOT
from pipeline.config.secrets import take_url_password

LOOPBACK_NAMES = ("localhost",)


def beyond_loopback(address: str) -> bool:
    """Whether a server bound to `address` (an IP, a DNS name, 0.0.0.0 or empty: every
    interface) can be reached from another machine."""
    if address in LOOPBACK_NAMES:
        return False
    try:
        return not ipaddress.ip_address(address).is_loopback
    except ValueError:
        return True  # a DNS name, or '' / '*' (every interface)


# MLflow's own variables as this process found them: MLflow's `set_tracking_uri` writes
# MLFLOW_TRACKING_URI into the environment (for its subprocesses), so reading it later would
# give the last store this process used rather than the user's choice.
# The same holds for the request settings a training writes for its MLflow client.
# A PostgreSQL password in the URI goes to PGPASSWORD, as on a command line (config/secrets.py):
# the URI is printed and logged.
MLFLOW_ENVIRONMENT = {
    name: os.environ.get(name)
    for name in (
        "MLFLOW_TRACKING_URI",
        "MLFLOW_EXPERIMENT_NAME",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
        "MLFLOW_HTTP_REQUEST_TIMEOUT",
    )
}
if MLFLOW_ENVIRONMENT["MLFLOW_TRACKING_URI"]:
    MLFLOW_ENVIRONMENT["MLFLOW_TRACKING_URI"] = take_url_password(
        MLFLOW_ENVIRONMENT["MLFLOW_TRACKING_URI"]
    )

# `${project_root:}`: absolute, whatever the working directory, so stores and caches
# land in the same place from `make`, from tests and from Hydra's job directories.
OmegaConf.register_new_resolver("project_root", lambda: str(PROJECT_ROOT), replace=True)
OmegaConf.register_new_resolver("beyond_loopback", beyond_loopback, replace=True)
# `${mlflow_env:NAME,DEFAULT}`: MLflow's variable NAME as the process started with it, else DEFAULT.
OmegaConf.register_new_resolver(
    "mlflow_env", lambda name, default: MLFLOW_ENVIRONMENT.get(name) or default, replace=True
)
# `${server_or:URI,DEFAULT}`: URI when it is a tracking server (it serves its own UI), else DEFAULT.
OmegaConf.register_new_resolver(
    "server_or",
    lambda uri, default: uri if str(uri).startswith(("http://", "https://")) else default,
    replace=True,
)
# `${choose:COND,A,B}`: A when COND is true, else B (a scheme, an sslmode).
OmegaConf.register_new_resolver(
    "choose", lambda condition, yes, no: yes if condition else no, replace=True
)
