"""The faust runtime around the pure engines: app, agents, delivery, metrics."""
