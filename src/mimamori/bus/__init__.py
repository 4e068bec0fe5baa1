"""Transport of RawRecord batches from receivers to pipeline workers."""

from mimamori.bus.base import Bus, Delivery

__all__ = ["Bus", "Delivery"]
