"""The engine: check records, the registry and the runner. It knows nothing of the course it grades."""
