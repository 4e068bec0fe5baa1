"""A NatsBus worker in its own process, for tests that kill one with SIGKILL.

``python -m tests.support.nats_worker '<json>'`` with keys url, prefix, partitions, ack_wait, leases (a
dict of LeaseTimings fields) and ``ack_every`` (ack every n-th delivery, leave the others unacked).
Prints ``OWN <p,...>`` when partitions are assigned and ``GOT <ack|keep> <first record's data>`` per
delivery (after acking it), flushed at once.
"""

from __future__ import annotations

import asyncio
import json
import sys

from mimamori.bus.jetstream import NatsBus, NatsBusConfig
from mimamori.bus.leases import LeaseTimings


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(options: dict[str, object]) -> None:
    config = NatsBusConfig(
        url=str(options["url"]),
        prefix=str(options["prefix"]),
        partitions=int(str(options["partitions"])),
        ack_wait=float(str(options["ack_wait"])),
        leases=LeaseTimings(**options["leases"]),  # type: ignore[arg-type]
    )

    async def assigned(partitions: frozenset[int]) -> None:
        say("OWN " + ",".join(map(str, sorted(partitions))))

    bus = NatsBus(config, on_assigned=assigned)
    await bus.start()
    ack_every = int(str(options["ack_every"]))
    n = 0
    async for delivery in bus.deliveries():
        n += 1
        keep = n % ack_every != 0
        if not keep:
            await delivery.ack()
        say(f"GOT {'keep' if keep else 'ack'} {delivery.records[0].data.decode()}")


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
