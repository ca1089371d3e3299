"""Fault injection for a worker subprocess (on its PYTHONPATH, imported at start-up).

``FAULT_SLOW_RECOVERY_SEEK_S``: faust's recovery awaits this long before seeking the
source partitions to their committed offsets — a slow broker's answer, as on the
machine where CI first stalled (decision 0027). Nothing here is imported by the
project's own code.
"""

import asyncio
import os

_delay = float(os.environ.get("FAULT_SLOW_RECOVERY_SEEK_S") or 0)
if _delay > 0:
    import faust.transport.drivers.aiokafka as _driver

    _seek_to_committed = _driver.Consumer.seek_to_committed

    async def _slow_seek_to_committed(self):  # type: ignore[no-untyped-def]
        await asyncio.sleep(_delay)
        return await _seek_to_committed(self)

    _driver.Consumer.seek_to_committed = _slow_seek_to_committed
