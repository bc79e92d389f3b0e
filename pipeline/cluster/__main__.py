"""`python -m pipeline.cluster start|stop|status [KEY=VALUE ...]` (`make cluster`, `make
cluster-stop`): the local SLURM cluster of conf/cluster/local.yaml."""

import sys

from pipeline.cluster.settings import load_settings
from pipeline.cluster.slurm import ClusterError, LocalCluster
from pipeline.config import ConfigError

ACTIONS = ("start", "stop", "status")
USAGE = (
    "usage: python -m pipeline.cluster start|stop|status [KEY=VALUE ...]  (conf/cluster/local.yaml)"
)


def _started(cluster: LocalCluster, seconds: float) -> None:
    s = cluster.settings
    print(
        f"SLURM cluster '{s.name}' ready in {seconds:.1f} s: {s.nodes} nodes "
        f"({', '.join(s.node_names)}; {s.cpus} CPUs and {s.memory_mb} MB each), "
        f"partition {s.partition}, accounting on; state in {cluster.root}"
    )
    if cluster.system_conf_is_ours():
        print("sinfo, squeue, sacct and hydra/launcher=slurm use it; make cluster-stop ends it")
    else:
        print(f"this host has a SLURM config of its own: export SLURM_CONF={cluster.slurm_conf}")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ACTIONS:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        cluster = LocalCluster(load_settings(*argv[1:]))
        if argv[0] == "start":
            if cluster.running():
                print(f"SLURM cluster '{cluster.settings.name}' already running")
            _started(cluster, cluster.start())
        elif argv[0] == "stop":
            running = cluster.running()
            cluster.stop()
            print(
                f"SLURM cluster '{cluster.settings.name}' "
                f"{'stopped' if running else 'was not running'}; its state stays in {cluster.root}"
            )
        else:
            if not cluster.running():
                print(f"SLURM cluster '{cluster.settings.name}' is not running")
                return 1
            print(cluster.query("sinfo", "-N", "-l"), end="")
    except (ClusterError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def cli() -> None:
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    cli()
