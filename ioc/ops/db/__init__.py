"""ClickHouse plumbing of the composition root: executors and migrations."""
