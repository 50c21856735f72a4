"""Alert rules as plugins: one module per rule, registered in ``alerting.rules.registry``."""
