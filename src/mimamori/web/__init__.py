"""The web: FastAPI application factory, portal and SOC pages, templates and translations."""
