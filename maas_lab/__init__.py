"""maas-lab: a read-only grader for the "Models as a Service" course module."""

__version__ = "0.1.0"
USER_AGENT = f"maas-lab/{__version__}"
