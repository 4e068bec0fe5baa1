"""The scale-out processes: ``mimamori receiver``, ``worker``, ``scheduler`` and ``web`` over NATS JetStream
and PostgreSQL (docs/deploy.md). ``mimamori serve`` keeps running every stage in one process on the
embedded bus (:mod:`mimamori.services.runtime`)."""
