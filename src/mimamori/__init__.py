"""mimamori (見守り): a Cyber Security Otasuketai platform for security providers watching over SMEs."""

__version__ = "0.1.0"
__all__ = ["__version__"]
