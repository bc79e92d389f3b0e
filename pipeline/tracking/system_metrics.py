"""A run's system metrics (CPU, memory, disk, network; GPU where NVML or ROCm finds one), queued
like its epochs.

MLflow's own monitor sends each sample straight to the store and asks the store, at every
sample, whether the run still runs: the first request that fails ends its thread, and the run
records no system metric for the rest of its life. This one samples with MLflow's monitors
(the same names, `system/...`, shown in the UI's system metrics tab) and puts each sample in
the run's tracking queue, so a store that is away delays the samples instead of ending them.
"""

import time

import psutil
from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

from pipeline.tracking.outbox import METRICS, Outbox


class QueuedSystemMetrics(SystemMetricsMonitor):
    """Samples every `interval` seconds from `start()` to `finish()`, into `outbox`. A continued
    run's samples go on from its last step (read from the store, which is there at the start)."""

    def __init__(self, outbox: Outbox, run_id: str, tracking_uri: str, interval: float):
        super().__init__(
            run_id, sampling_interval=interval, resume_logging=True, tracking_uri=tracking_uri
        )
        self.outbox = outbox
        self._samples = 0  # collected since the last queued record
        self._queued = 0  # records queued by this process

    def start(self) -> None:
        psutil.cpu_percent()  # the CPU figure is the use since the previous call: none yet
        super().start()

    def monitor(self) -> None:
        while not self._shutdown_event.wait(self.sampling_interval):
            self._sample()
            if self._samples >= self.samples_before_logging:
                self._queue()

    def finish(self) -> None:
        """Stop sampling; what was collected since the last record is queued, and a run shorter
        than one interval gets one sample, so that every run has its figures."""
        if self._process is None:
            return
        self._shutdown_event.set()
        self._process.join()
        self._process = None
        if self._samples == 0 and self._queued == 0:
            self._sample()
        if self._samples:
            self._queue()

    def _sample(self) -> None:
        self.collect_metrics()
        self._samples += 1

    def _queue(self) -> None:
        prefix = self._metrics_prefix + (f"{self.node_id}/" if self.node_id else "")
        timestamp = int(time.time() * 1000)
        self.outbox.put(
            METRICS,
            metrics=[
                [prefix + name, float(value), timestamp, self._logging_step]
                for name, value in self.aggregate_metrics().items()
            ],
        )
        self._logging_step += 1
        self._queued += 1
        self._samples = 0
        for monitor in self.monitors:
            monitor.clear_metrics()
