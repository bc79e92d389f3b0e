"""The local cluster's settings: conf/cluster/local.yaml, typed, with KEY=VALUE overrides."""

import os
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import MISSING, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from pipeline import PROJECT_ROOT
from pipeline.config import ConfigError

SETTINGS_FILE = PROJECT_ROOT / "conf" / "cluster" / "local.yaml"
RESERVED_MB = 2048  # left to this host's own processes (the controller, the sweeper, the stack)


@dataclass
class Ports:
    controller: int = MISSING
    node: int = MISSING
    accounting: int = MISSING
    database: int = MISSING


@dataclass
class ClusterSettings:
    name: str = MISSING
    nodes: int = MISSING
    partition: str = MISSING
    subnet: str = MISSING
    cpus_per_node: int = 0
    memory_mb_per_node: int = 0
    ports: Ports = field(default_factory=Ports)
    state_dir: str | None = None
    node_timeout_s: int = 10

    @property
    def folder(self) -> Path:
        return Path(self.state_dir) if self.state_dir else PROJECT_ROOT / ".cluster"

    @property
    def node_names(self) -> list[str]:
        return [f"node{i}" for i in range(1, self.nodes + 1)]

    def address(self, node: str | None = None) -> str:
        """The controller's address (this host, on the bridge), or a node's."""
        return f"{self.subnet}.{1 if node is None else int(node.removeprefix('node')) + 1}"

    @property
    def cpus(self) -> int:
        return self.cpus_per_node or os.cpu_count() or 1

    @property
    def memory_mb(self) -> int:
        if self.memory_mb_per_node:
            return self.memory_mb_per_node
        total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
        return max(512, (total_mb - RESERVED_MB) // self.nodes)


def load_settings(*overrides: str) -> ClusterSettings:
    """The settings file with `overrides` (KEY=VALUE) applied; ConfigError in one line."""
    try:
        merged = OmegaConf.merge(
            OmegaConf.structured(ClusterSettings),
            OmegaConf.load(SETTINGS_FILE),
            OmegaConf.from_dotlist(list(overrides)),
        )
        settings: ClusterSettings = OmegaConf.to_object(merged)
    except (OmegaConfBaseException, ValueError) as error:
        raise ConfigError(f"cluster settings: {str(error).splitlines()[0]}") from None
    if not 1 <= settings.nodes <= 250:
        raise ConfigError(f"nodes={settings.nodes} must be between 1 and 250")
    if len(settings.name) > 8 or not settings.name.isalnum():
        raise ConfigError(f"name={settings.name} must be 1-8 letters or digits (it names devices)")
    parts = settings.subnet.split(".")
    if len(parts) != 3 or not all(p.isdigit() and int(p) < 256 for p in parts):
        raise ConfigError(f"subnet={settings.subnet} must be the first three numbers of an address")
    return settings
