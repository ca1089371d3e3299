"""One module per domain: the faust agent, a thin loop around the pure engine."""
