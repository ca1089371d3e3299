"""Settings -> components: the one place that knows both (the composition root).

Commands, the demo, the benchmark and ``ioc replay`` build every connector, worker
configuration, sink and alerter here, so a setting is read in one place.
"""
