"""Which node works on a container in the node-side tasks that act once per container for the whole
cluster (the orphaned-segment reaper, the S3 lifecycle runner): the first
container primary, in ring order, that is up and holds the container.

The primaries before this device are asked (a HEAD each); any that answers 2xx does the work instead.
So one node works on a container while the cluster is healthy, the next primary takes over while the
first is down or lost its copy, and should two briefly both work on it (a slow answer), the tasks'
actions are idempotent.
"""

from __future__ import annotations

from objclient import paths
from objclient.client import StorageClient
from store.node_address import NodeAddress
from store.node_task import NodeTask


async def runs_container(client: StorageClient, device: str, address: NodeAddress,
                         account: str, container: str) -> bool:
    """This device (of the node at ``address``) is the container's first primary that is up and holds
    it (a handoff never is)."""
    ring = client.rings.container
    part = ring.partition(account, container)
    for dev in ring.primaries(part):
        if dev.device == device and address.owns(dev):
            return True
        answer = await client.nio.call_small(dev, "HEAD", paths.cont_path(dev, part, account, container), {})
        if answer is not None and answer.status // 100 == 2:
            return False
    return False


class ContainerDutyTask(NodeTask):
    """A node task that works once per container for the cluster (lifecycle, segment reaper): ``runs_container``
    tells whether this device is the one to work on a container."""
