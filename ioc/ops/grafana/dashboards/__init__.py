"""One module per IOC dashboard."""
