"""The JSON REST API (``/api/v1``): thin routes over the services."""
