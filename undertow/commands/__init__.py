"""The sub-command groups of ``undertow``, one module per subsystem."""
