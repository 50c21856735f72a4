"""The application shell: the ``undertow`` command line, the demo, the bench and the naive peer.

The only code that imports every subsystem (streaming, models, alerting, deploy.stack); each of
those knows nothing of this package.
"""
