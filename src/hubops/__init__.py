"""hubops: config-as-code for commerce integration hubs."""

__version__ = "0.1.0"
