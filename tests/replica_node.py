"""One host's replicated state for the tests, run inside a host's network namespace against its corosync:
`python -m tests.replica_node STATE_DB`; commands on stdin (JSON lines): `add` (rid; with `count`, that many
resources rid0.. in one change, each with a 2 KiB description that barely compresses), `version`, `quit`;
events on stdout: `node` (its id), `membership` (node ids), `synced`, `outcome` (id, applied, reason),
`version` (version, digest, resources; the whole dump with "dump": true), `lost`."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from pathlib import Path

from appliance.cluster.corosync_bus import CpgBus
from appliance.cluster.replica import Replica
from appliance.model import edits
from appliance.model.resources import AgentRef, Primitive
from appliance.store import replicated
from appliance.store.cib_store import CibStore

DUMMY = AgentRef("ocf", "Dummy", "pacemaker")


def emit(event: str, **fields: object) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


async def serve(path: Path) -> None:
    store = CibStore.open(path)
    loop = asyncio.get_running_loop()
    holder: dict[str, Replica] = {}
    def membership(members: tuple[int, ...]) -> None:
        emit("membership", members=list(members))
        holder["replica"].membership(members)

    bus = CpgBus(membership, lambda sender, payload: holder["replica"].delivered(sender, payload),
                 lambda why: emit("lost", why=why))
    replica = Replica(store, bus, 0, "drover test",
                      on_outcome=lambda o: emit("outcome", id=o.change_id, applied=o.applied, reason=o.reason),
                      on_synced=lambda: emit("synced"))
    holder["replica"] = replica
    replica.nodeid = bus.start()
    emit("node", nodeid=replica.nodeid)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = json.loads(line)
        if command["op"] == "add":
            rid, count = command["rid"], command.get("count")
            added = [Primitive(rid, DUMMY)] if count is None else [
                Primitive(f"{rid}{n}", DUMMY, description="".join(
                    hashlib.sha256(f"{rid}{n}-{part}".encode()).hexdigest() for part in range(30)))
                for n in range(count)]

            def edit(configuration, added=added):
                for resource in added:
                    configuration = edits.add_resource(configuration, resource)
                return configuration
            replica.propose_configuration(rid, replicated.prepare_configuration(store, edit))
        elif command["op"] == "version":
            dump = json.dumps(replicated.dump(store), sort_keys=True).encode()
            emit("version", version=list(replicated.version(store)), digest=hashlib.sha256(dump).hexdigest(),
                 resources=[r.id for r in store.configuration().resources],
                 **({"dump": replicated.dump(store)} if command.get("dump") else {}))
        else:
            break
    bus.close()
    store.close()


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1])))
