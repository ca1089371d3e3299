"""``make demo``: the whole pipeline on one machine, fed through its real connectors.

The simulator's events go in the way a province's systems would send them (QR scans
over HTTP, telemetry over MQTT, dossier changes into the one-stop-shop database's
outbox), every pipeline process runs as its own ``ioc`` command, and a live terminal
view shows what the operators' panels would.
"""
