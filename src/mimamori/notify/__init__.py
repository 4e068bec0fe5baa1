"""Notifications: what to tell whom, when, over which channel — and never lose or repeat a message.

Pure stage code (no storage): ``message`` (what a notification says), ``routing`` (who gets it now),
``escalation`` (who next when nobody acknowledges), ``digest`` (the daily summary), ``backoff`` (when to
retry), ``links`` (signed one-click acknowledgement links), ``render`` and ``channels/`` (how it is sent;
one module per channel in the ``CHANNELS`` table). ``services.notify*`` persist and drive them.
"""
