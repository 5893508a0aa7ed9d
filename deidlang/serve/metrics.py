"""What a node tells its operator: counters, a JSON log line per event, ``/metrics``.

Counters (all since start-up) and gauges (the spool's queues now) are kept
here and exposed in the Prometheus text format by an HTTP endpoint
(``--metrics [ADDRESS:]PORT``, needs ``prometheus-client``):

==========================================  =========================================
``deidc_serve_received_total``              C-STORE requests received
``deidc_serve_spooled_total``               objects written to the spool (acknowledged)
``deidc_serve_refused_total{reason}``       C-STORE requests answered with a failure status
``deidc_serve_deidentified_total``          objects de-identified and handed to outboxes
``deidc_serve_quarantined_total``           objects held back in the spool's quarantine
``deidc_serve_forwarded_total{destination}`` objects a destination acknowledged
``deidc_serve_forward_failed_total{destination}`` tries that failed (retried later)
``deidc_serve_set_aside_total{destination}`` objects a destination refused for good
``deidc_serve_associations_total{result}``  associations accepted / rejected
``deidc_serve_received_bytes_total``        bytes received in C-STORE data sets
``deidc_serve_queue_depth{queue}``          objects waiting: ``deidentify`` or ``outbox:NAME``
==========================================  =========================================

The JSON log (stderr, or ``--log FILE``) has one object per line with
``time`` and ``event`` and only counts, sizes, durations, statuses, AE
titles, addresses, object numbers and destination names: never element
values (:meth:`EventLog.write` refuses anything else).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, TextIO

__all__ = ["Metrics", "EventLog", "serve_metrics"]

_COUNTERS = {
    "received": "C-STORE requests received",
    "spooled": "objects written to the spool and acknowledged",
    "deidentified": "objects de-identified and handed to their destinations' outboxes",
    "quarantined": "objects held back in the spool's quarantine",
    "received_bytes": "bytes received in C-STORE data sets",
}
_LABELLED = {
    "refused": ("reason", "C-STORE requests answered with a failure status"),
    "forwarded": ("destination", "objects a destination acknowledged"),
    "forward_failed": ("destination", "tries to deliver that failed (retried later)"),
    "set_aside": ("destination", "objects a destination refused for good (kept in failed/)"),
    "associations": ("result", "associations accepted or rejected"),
}


class Metrics:
    """Thread-safe counters and queue depths."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = dict.fromkeys(_COUNTERS, 0)
        self.labelled: dict[str, dict[str, int]] = {name: {} for name in _LABELLED}
        self.queues: dict[str, int] = {}

    def add(self, name: str, n: int = 1, label: str | None = None) -> None:
        with self._lock:
            if label is None:
                self.counts[name] += n
            else:
                table = self.labelled[name]
                table[label] = table.get(label, 0) + n

    def queue(self, name: str, delta: int) -> None:
        with self._lock:
            self.queues[name] = self.queues.get(name, 0) + delta

    def set_queue(self, name: str, value: int) -> None:
        with self._lock:
            self.queues[name] = value

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {**self.counts, **{k: dict(v) for k, v in self.labelled.items()}, "queues": dict(self.queues)}

    # ------------------------------------------------------------------ Prometheus
    def collect(self):
        """prometheus_client's custom-collector protocol."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        snap = self.snapshot()
        for name, doc in _COUNTERS.items():
            family = CounterMetricFamily(f"deidc_serve_{name}", doc)
            family.add_metric([], snap[name])
            yield family
        for name, (label, doc) in _LABELLED.items():
            family = CounterMetricFamily(f"deidc_serve_{name}", doc, labels=[label])
            for value, count in sorted(snap[name].items()):
                family.add_metric([value], count)
            yield family
        gauge = GaugeMetricFamily("deidc_serve_queue_depth", "objects waiting in the spool", labels=["queue"])
        for queue, depth in sorted(snap["queues"].items()):
            gauge.add_metric([queue], depth)
        yield gauge


def serve_metrics(metrics: Metrics, address: str, port: int):
    """Start the ``/metrics`` HTTP endpoint; returns an object with ``shutdown()``.
    Raises ImportError when prometheus-client is not installed."""
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics)
    server, _thread = start_http_server(port, addr=address, registry=registry)
    return server


_PLAIN = (str, int, float, bool, type(None))


class EventLog:
    """One JSON object per line. Values must be plain numbers, texts or lists of them."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self._lock = threading.Lock()

    def write(self, event: str, **fields: Any) -> None:
        for key, value in fields.items():
            if not isinstance(value, _PLAIN) and not (isinstance(value, (list, tuple, dict)) and _plain(value)):
                raise TypeError(f"log field '{key}' holds a {type(value).__name__}: only plain values are logged")
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}" + time.strftime("%z", time.localtime(now))
        record = {"time": stamp, "event": event, **fields}
        line = json.dumps(record, ensure_ascii=True, separators=(",", ":"))
        with self._lock:
            try:
                self.stream.write(line + "\n")
                self.stream.flush()
            except (OSError, ValueError):  # a closed or full log must not stop the node
                pass


def _plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and (isinstance(v, _PLAIN) or _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(isinstance(v, _PLAIN) or _plain(v) for v in value)
    return False
