"""A SLURM cluster on this machine: munge, MariaDB and slurmdbd (accounting, so `sacct` answers
and a lost job counts as ended), slurmctld, and a slurmd per compute node in a simulated host.
Everything lives under the settings' folder (configs, key, logs, the job database, the
controller's state, so job ids go on across restarts); `stop` ends every process it started."""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from pipeline.cluster import network
from pipeline.cluster.settings import ClusterSettings
from pipeline.config import ConfigError
from pipeline.processes.liveness import command_line, end_process, process_running
from pipeline.stack.files import new_secret, private_dir, write_private

PROGRAMS = ("munged", "mariadbd", "mariadb-install-db", "slurmdbd", "slurmctld", "slurmd", "sbatch")
PACKAGES = "slurmctld slurmd slurm-client slurmdbd munge mariadb-server"
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")  # where sinfo, sbatch and submitit look by default
READY_S = 60  # each daemon answers within this, or the start fails with its log's name
STOP_S = 15  # each daemon's time to exit after SIGTERM, then SIGKILL


class ClusterError(ConfigError):
    """One line for the user: what failed and where its log is."""


def _run(argv: list[str], **kwargs) -> None:
    """A daemon's start (it forks into the background) or a set-up step; ClusterError in one
    line when it fails."""
    result = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        said = (result.stderr or result.stdout).strip().splitlines()
        raise ClusterError(f"{argv[0]} failed: {said[-1] if said else f'exit {result.returncode}'}")


def _wait(ready, what: str, log: Path, seconds: float = READY_S) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise ClusterError(f"{what} did not come up within {seconds:.0f} s; see {log}")
        time.sleep(0.2)


class LocalCluster:
    def __init__(self, settings: ClusterSettings):
        self.settings = settings
        root = settings.folder
        self.root = root
        self.etc, self.run_dir, self.logs = root / "etc", root / "run", root / "log"
        self.slurm_conf = self.etc / "slurm.conf"
        self.munge_key = root / "munge" / "munge.key"
        self.munge_socket = root / "munge-socket" / "munge.socket"
        self.database_dir = root / "mysql"
        self.database_socket = self.run_dir / "mysqld.sock"
        self.database_password = root / "secrets" / "slurmdbd-database"
        self.bridge = f"{settings.name}-br"
        self.env = {**os.environ, "SLURM_CONF": str(self.slurm_conf)}

    # -- names -------------------------------------------------------------------------------
    def namespace(self, node: str) -> str:
        return f"{self.settings.name}-{node}"

    def pid_files(self) -> dict[str, Path]:
        """Each daemon's pid file, in the order `stop` ends them (accounting after the rest)."""
        files = {"slurmctld": self.run_dir / "slurmctld.pid"}
        files |= {f"slurmd {n}": self.run_dir / f"slurmd-{n}.pid" for n in self.settings.node_names}
        return files | {
            "slurmdbd": self.run_dir / "slurmdbd.pid",
            "mariadbd": self.run_dir / "mysqld.pid",
            "munged": self.run_dir / "munged.pid",
        }

    def pid(self, daemon: str) -> int | None:
        """The daemon's pid while that process runs and is that daemon (a stale file's pid may
        belong to anything by now, and is never signalled)."""
        try:
            pid = int(self.pid_files()[daemon].read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        program = daemon.split()[0]
        alive = process_running(pid) and any(program in part for part in command_line(pid)[:1])
        return pid if alive else None

    def running(self) -> bool:
        return self.pid("slurmctld") is not None

    # -- start ---------------------------------------------------------------------------------
    def start(self) -> float:
        """Start what is not running; ready (every node idle) when this returns. Seconds taken."""
        if os.geteuid() != 0:
            raise ClusterError("the local SLURM cluster needs root (network namespaces, daemons)")
        missing = [p for p in PROGRAMS if shutil.which(p) is None]
        if missing:
            raise ClusterError(f"{', '.join(missing)} missing: apt-get install {PACKAGES}")
        started = time.monotonic()
        for folder in (self.root, self.etc, self.run_dir, self.logs, self.munge_key.parent):
            private_dir(folder)
        # munged wants every folder above its socket searchable by all: the folder may be
        # passed through (0711), not listed; what is inside stays owner-only
        self.root.chmod(0o711)
        self.munge_socket.parent.mkdir(exist_ok=True)
        self.munge_socket.parent.chmod(0o755)
        try:
            network.create(
                self.bridge,
                self.settings.address(),
                {
                    n: (self.namespace(n), self.settings.address(n))
                    for n in self.settings.node_names
                },
            )
            self._start_munge()
            self._start_database()
            self._write_configs()
            self._start_accounting()
            self._start_controller()
            for node in self.settings.node_names:
                self.start_node(node)
            _wait(self._all_idle, "the compute nodes", self.logs)
        except BaseException:
            self.stop()
            raise
        self._link_system_conf()
        return time.monotonic() - started

    def _start_munge(self) -> None:
        if self.pid("munged"):
            return
        if not self.munge_key.exists():
            write_private(self.munge_key, os.urandom(1024))
            self.munge_key.chmod(0o400)
        _run(
            [
                "munged",
                f"--key-file={self.munge_key}",
                f"--socket={self.munge_socket}",
                f"--pid-file={self.pid_files()['munged']}",
                f"--log-file={self.logs / 'munged.log'}",
                f"--seed-file={self.munge_key.parent / 'munged.seed'}",
            ]
        )

    def _sql(self, statements: str) -> subprocess.CompletedProcess:
        """Statements as MariaDB's root, over its socket (root signs in as the system's root
        only); on stdin, so no password reaches a command line."""
        return subprocess.run(
            ["mariadb", "--no-defaults", f"--socket={self.database_socket}", "-uroot"],
            input=statements,
            capture_output=True,
            text=True,
        )

    def _start_database(self) -> None:
        log = self.logs / "mariadb.log"
        if not (self.database_dir / "mysql").exists():
            _run(
                [
                    "mariadb-install-db",
                    "--no-defaults",
                    f"--datadir={self.database_dir}",
                    "--user=root",
                    "--auth-root-authentication-method=socket",
                    "--skip-test-db",
                ]
            )
        if not self.pid("mariadbd"):
            subprocess.Popen(
                [
                    "mariadbd",
                    "--no-defaults",
                    "--user=root",
                    f"--datadir={self.database_dir}",
                    f"--socket={self.database_socket}",
                    f"--port={self.settings.ports.database}",
                    "--bind-address=127.0.0.1",
                    f"--pid-file={self.pid_files()['mariadbd']}",
                    f"--log-error={log}",
                    "--skip-name-resolve",
                    "--performance-schema=OFF",
                    "--innodb-buffer-pool-size=128M",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            _wait(lambda: self._sql("SELECT 1").returncode == 0, "MariaDB", log)
        if not self.database_password.exists():
            write_private(self.database_password, new_secret())
        password = self.database_password.read_text()
        result = self._sql(
            f"CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '{password}';"
            f"ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '{password}';"
            "GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
        )
        if result.returncode != 0:
            raise ClusterError(f"MariaDB refused the accounting user: {result.stderr.strip()}")

    def _write_configs(self) -> None:
        s, root, ports = self.settings, self.root, self.settings.ports
        socket = self.munge_socket
        nodes = "\n".join(
            f"NodeName={n} NodeAddr={s.address(n)} NodeHostname={n} CPUs={s.cpus} "
            f"RealMemory={s.memory_mb} State=UNKNOWN"
            for n in s.node_names
        )
        write_private(
            self.slurm_conf,
            f"""# Written by `make cluster` (pipeline/cluster/slurm.py) from conf/cluster/local.yaml.
ClusterName={s.name}
SlurmctldHost=localhost({s.address()})
SlurmctldPort={ports.controller}
SlurmdPort={ports.node}
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire also sets how soon a requeued job may start again (SLURM's default: 120 s)
AuthInfo=socket={socket},cred_expire=10
StateSaveLocation={root / "slurmctld"}
SlurmdSpoolDir={root / "spool"}/%n
SlurmctldPidFile={self.pid_files()["slurmctld"]}
SlurmdPidFile={self.run_dir}/slurmd-%n.pid
SlurmctldLogFile={self.logs / "slurmctld.log"}
SlurmdLogFile={self.logs}/slurmd-%n.log
MailProg=/bin/true
MpiDefault=none
# no cgroups inside the simulated hosts: processes tracked by their parents, memory booked, not enforced
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
# CR_LLN: each job to the least loaded node, so jobs spread over the nodes
SelectTypeParameters=CR_Core_Memory,CR_LLN
DefMemPerCPU=1000
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=5,sched_interval=5
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=10
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort={ports.accounting}
# slurmdbd connections take munge's socket from here, not from AuthInfo
AccountingStoragePass={socket}
ReturnToService=2
SlurmdTimeout={s.node_timeout_s}
SlurmctldTimeout=10
MessageTimeout=5
KillWait=5
MinJobAge=300
{nodes}
PartitionName={s.partition} Nodes={",".join(s.node_names)} Default=YES MaxTime=INFINITE State=UP
""",
        )
        self.slurm_conf.chmod(0o644)  # every client reads it; it holds no secret
        write_private(
            self.etc / "slurmdbd.conf",
            f"""# Written by `make cluster` (pipeline/cluster/slurm.py); owner-only: it holds a password.
AuthType=auth/munge
AuthInfo=socket={socket}
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort={ports.accounting}
SlurmUser=root
LogFile={self.logs / "slurmdbd.log"}
PidFile={self.pid_files()["slurmdbd"]}
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={ports.database}
StorageUser=slurm
StoragePass={self.database_password.read_text()}
StorageLoc=slurm_acct_db
""",
        )
        self.etc.chmod(0o755)

    def _succeeds(self, *argv: str) -> bool:
        return subprocess.run(argv, env=self.env, capture_output=True).returncode == 0

    def _start_accounting(self) -> None:
        if not self.pid("slurmdbd"):
            _run(["slurmdbd"], env=self.env)
        # slurmctld exits at start when accounting does not answer yet
        _wait(
            lambda: self._succeeds("sacctmgr", "-n", "list", "cluster"),
            "slurmdbd",
            self.logs / "slurmdbd.log",
        )

    def _start_controller(self) -> None:
        if not self.pid("slurmctld"):
            _run(["slurmctld"], env=self.env)
        _wait(
            lambda: "UP" in self.query("scontrol", "ping"),
            "slurmctld",
            self.logs / "slurmctld.log",
        )

    def start_node(self, node: str) -> None:
        """`node`'s slurmd in its simulated host (again, after `crash_node`)."""
        if self.pid(f"slurmd {node}"):
            return
        (self.root / "spool" / node).mkdir(parents=True, exist_ok=True)
        _run(network.on_host(self.namespace(node), node, ["slurmd", "-N", node]), env=self.env)

    def _all_idle(self) -> bool:
        states = self.query("sinfo", "-h", "-N", "-o", "%T").split()
        return len(states) == self.settings.nodes and all(s == "idle" for s in states)

    def query(self, *argv: str) -> str:
        """A SLURM command's output on this cluster ('' when it fails)."""
        result = subprocess.run(argv, env=self.env, capture_output=True, text=True)
        return result.stdout if result.returncode == 0 else ""

    def _link_system_conf(self) -> None:
        """/etc/slurm/slurm.conf -> this cluster's, unless a site's own config is there: then
        the user exports SLURM_CONF (`start` says so)."""
        if self.system_conf_is_ours() or not SYSTEM_CONF.exists():
            SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
            SYSTEM_CONF.unlink(missing_ok=True)
            SYSTEM_CONF.symlink_to(self.slurm_conf)

    def system_conf_is_ours(self) -> bool:
        return SYSTEM_CONF.is_symlink() and SYSTEM_CONF.resolve() == self.slurm_conf.resolve()

    # -- faults, for tests and drills ----------------------------------------------------------
    def crash_node(self, node: str) -> None:
        """`node` loses power: its slurmd, job steps and jobs are killed at once."""
        for pid in network.pids_in(self.namespace(node)):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    # -- stop ----------------------------------------------------------------------------------
    def stop(self) -> None:
        """Cancel every job, end every daemon and process this cluster started, remove its
        network; the folder (configs, logs, the job database) stays."""
        if self.pid("slurmctld"):
            subprocess.run(["scancel", "--full", "--user=root"], env=self.env, capture_output=True)
            deadline = time.monotonic() + STOP_S
            while self.query("squeue", "-h", "-o", "%i").strip() and time.monotonic() < deadline:
                time.sleep(0.2)
        for daemon in self.pid_files():
            pid = self.pid(daemon)
            if pid is not None:
                end_process(pid, STOP_S)
            self.pid_files()[daemon].unlink(missing_ok=True)
        for node in self.settings.node_names:  # job processes a crashed slurmd left behind
            self.crash_node(node)
        network.remove(self.bridge, [self.namespace(n) for n in self.settings.node_names])
        if self.system_conf_is_ours() or (SYSTEM_CONF.is_symlink() and not SYSTEM_CONF.exists()):
            SYSTEM_CONF.unlink()
