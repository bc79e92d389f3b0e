"""Simulated hosts on this machine: Linux network namespaces joined by a virtual bridge, each
process started with a host name of its own (a UTS namespace). The project folder is
shared by all of them, as cluster nodes share a file system. Needs root."""

import os
import subprocess
import uuid
from dataclasses import dataclass, field

SUBNET = "10.231.77"  # the test hosts' own addresses, inside their namespaces only


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def why_no_hosts() -> str | None:
    """One line on why hosts cannot be simulated here, or None."""
    if os.geteuid() != 0:
        return "simulated hosts need root (ip netns, unshare -u)"
    probe = f"mnist-probe-{uuid.uuid4().hex[:6]}"
    try:
        ip("netns", "add", probe)
        ip("netns", "del", probe)
    except (OSError, subprocess.CalledProcessError) as error:
        return (
            f"network namespaces are not permitted here: {getattr(error, 'stderr', error)}".strip()
        )
    return None


@dataclass
class Host:
    name: str  # its host name
    namespace: str
    address: str

    def command(self, *argv: str) -> list[str]:
        """`argv` as run on this host: in its namespace, under its host name."""
        return [
            "ip",
            "netns",
            "exec",
            self.namespace,
            "unshare",
            "--uts",
            "sh",
            "-c",
            'hostname "$0" && exec "$@"',
            self.name,
            *argv,
        ]

    def popen(self, *argv: str, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(self.command(*argv), **kwargs)

    def run(self, *argv: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*argv), **kwargs)


@dataclass
class Network:
    """A server host holding the bridge, and workers linked to it by veth pairs."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    hosts: list[Host] = field(default_factory=list)

    def add(self, name: str) -> Host:
        index = len(self.hosts) + 1
        host = Host(name, f"mnist-{self.tag}-{index}", f"{SUBNET}.{index}")
        ip("netns", "add", host.namespace)
        ip("-n", host.namespace, "link", "set", "lo", "up")
        if not self.hosts:  # the first host holds the bridge
            ip("-n", host.namespace, "link", "add", "br0", "type", "bridge")
            ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "br0")
            ip("-n", host.namespace, "link", "set", "br0", "up")
        else:
            hub = self.hosts[0].namespace
            port = f"v{index}"
            ip(
                "-n",
                hub,
                "link",
                "add",
                port,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                host.namespace,
            )
            ip("-n", hub, "link", "set", port, "master", "br0", "up")
            ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "eth0")
            ip("-n", host.namespace, "link", "set", "eth0", "up")
        self.hosts.append(host)
        return host

    def remove(self) -> None:
        for host in reversed(self.hosts):
            subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True)
        self.hosts.clear()
