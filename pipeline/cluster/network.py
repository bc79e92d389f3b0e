"""The cluster's network: a bridge on this host and, per compute node, a network namespace
joined to it by a veth pair. The namespaces have no route beyond the cluster's subnet: a node
reaches this host (the controller, and the team stack where it listens on the bridge) and the
other nodes, nothing else."""

import subprocess
from pathlib import Path

from pipeline.config import ConfigError

NETNS_DIR = Path("/run/netns")


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise ConfigError(f"ip {' '.join(args)}: {result.stderr.strip() or 'failed'}")
    return result


def exists(namespace: str) -> bool:
    return (NETNS_DIR / namespace).exists()


def create(bridge: str, host_address: str, nodes: dict[str, tuple[str, str]]) -> None:
    """`bridge` with `host_address`/24, and each node's namespace (name -> (namespace,
    address)); what exists already is kept."""
    if ip("link", "show", bridge, check=False).returncode != 0:
        ip("link", "add", bridge, "type", "bridge")
        ip("addr", "add", f"{host_address}/24", "dev", bridge)
        ip("link", "set", bridge, "up")
    for index, (namespace, address) in enumerate(nodes.values(), start=1):
        if exists(namespace):
            continue
        port = f"{bridge.removesuffix('-br')}-v{index}"
        ip("netns", "add", namespace)
        ip("link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", namespace)
        ip("link", "set", port, "master", bridge, "up")
        ip("-n", namespace, "addr", "add", f"{address}/24", "dev", "eth0")
        ip("-n", namespace, "link", "set", "eth0", "up")
        ip("-n", namespace, "link", "set", "lo", "up")


def pids_in(namespace: str) -> list[int]:
    if not exists(namespace):
        return []
    return [int(p) for p in ip("netns", "pids", namespace, check=False).stdout.split()]


def remove(bridge: str, namespaces: list[str]) -> None:
    for namespace in namespaces:
        if exists(namespace):
            ip("netns", "del", namespace, check=False)  # its veth pair goes with it
    ip("link", "del", bridge, check=False)


def on_host(namespace: str, host_name: str, argv: list[str]) -> list[str]:
    """`argv` run in `namespace` under `host_name` (a UTS namespace of its own). nsenter, not
    `ip netns exec`, which remounts /sys and hides the cgroup tree that slurmd reads."""
    return [
        "nsenter",
        f"--net={NETNS_DIR / namespace}",
        "unshare",
        "--uts",
        "sh",
        "-c",
        'hostname "$0" && exec "$@"',
        host_name,
        *argv,
    ]
