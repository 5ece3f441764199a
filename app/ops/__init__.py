"""Operations: probes, metrics, structured logs, traces, Flower and the worker exporter."""
