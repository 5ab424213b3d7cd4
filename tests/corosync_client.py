"""A corosync client for the tests, run inside a host's network namespace: JSON commands in, JSON events out.

`python -m tests.corosync_client GROUP` reads the cmap, tracks votequorum and
joins CPG group GROUP, all driven by one asyncio loop through the handles'
fds, and prints one JSON object per line: `cmap`, `quorum`, `confchg`,
`deliver`, `info`, `left`, and `error` (a CorosyncError, after which it exits
with status 3). Commands, one JSON object per line on stdin: `send` (payload),
`burst` (prefix, count, optional at: a time.time() to start at, interval_s between sends), `send_bytes` (size: a
binary payload, delivered as its size and sha256; `refused` if too large),
`info`, `leave`, `quit`.
`python -m tests.corosync_client --probe` tries each library once and prints
the error each gives (for a namespace with no corosync).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import time
from dataclasses import asdict

from appliance.cluster.corosync_cmap import Cmap, cluster_name, local_nodeid, nodelist
from appliance.cluster.corosync_cpg import CpgGroup, CpgMember, PayloadTooLarge
from appliance.cluster.corosync_lib import CorosyncError
from appliance.cluster.corosync_quorum import QuorumChange, Votequorum, quorate

SHOWN_PAYLOAD_BYTES = 200


def emit(event: str, **fields: object) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def error_fields(error: CorosyncError) -> dict:
    return {"call": error.call, "name": error.name, "code": error.code, "message": str(error)}


def addresses(members: tuple[CpgMember, ...]) -> list[list[int]]:
    return [[member.nodeid, member.pid, int(member.reason)] for member in members]


def probe() -> None:
    for what, attempt in (("cpg", lambda: CpgGroup.join("probe", lambda *_: None, lambda *_: None)),
                          ("votequorum", Votequorum), ("cmap", Cmap), ("quorum", quorate)):
        try:
            attempt()
        except CorosyncError as error:
            emit("error", what=what, **error_fields(error))
        else:
            emit("connected", what=what)


def on_confchg(members: tuple[CpgMember, ...], left: tuple[CpgMember, ...], joined: tuple[CpgMember, ...]) -> None:
    emit("confchg", members=addresses(members), left=addresses(left), joined=addresses(joined))


def on_deliver(nodeid: int, pid: int, payload: bytes) -> None:
    if len(payload) > SHOWN_PAYLOAD_BYTES:
        emit("deliver", nodeid=nodeid, pid=pid, size=len(payload), sha256=hashlib.sha256(payload).hexdigest())
    else:
        emit("deliver", nodeid=nodeid, pid=pid, payload=payload.decode(errors="replace"))


def on_quorum(change: QuorumChange) -> None:
    emit("quorum", quorate=change.quorate, nodes=[[node.nodeid, int(node.state)] for node in change.nodes])


async def serve(group_name: str) -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    with Cmap() as cmap:
        emit("cmap", cluster_name=cluster_name(cmap), local_nodeid=local_nodeid(cmap),
             nodes=[asdict(node) for node in nodelist(cmap)])
    with Votequorum() as votequorum, CpgGroup.join(group_name, on_deliver, on_confchg) as group:
        votequorum.track(on_quorum)

        def guarded(dispatch):
            def run() -> None:
                try:
                    dispatch()
                except CorosyncError as error:
                    emit("error", **error_fields(error))
                    if not done.done():
                        done.set_exception(SystemExit(3))
            return run

        def on_command(line: str) -> None:
            command = json.loads(line)
            op = command["op"]
            if op == "send":
                group.send(command["payload"].encode())
            elif op == "burst":
                # Blocking the loop is fine here: deliveries wait in libcpg's ring until the burst is over.
                time.sleep(max(0.0, command.get("at", 0.0) - time.time()))
                for number in range(command["count"]):
                    group.send(f"{command['prefix']}-{number}".encode())
                    time.sleep(command.get("interval_s", 0.0))
            elif op == "send_bytes":
                try:
                    group.send(bytes(range(256)) * (command["size"] // 256) + b"x" * (command["size"] % 256))
                except PayloadTooLarge as error:
                    emit("refused", message=str(error))
            elif op == "info":
                emit("info", cpg_nodeid=group.local_nodeid(), quorum=asdict(votequorum.info()), quorate=quorate(),
                     members=addresses(group.members()))
            elif op == "leave":
                group.leave()
                emit("left")
            elif op == "quit" and not done.done():
                done.set_result(None)

        pending = bytearray()

        def on_stdin() -> None:
            chunk = os.read(sys.stdin.fileno(), 65536)
            if not chunk:
                loop.remove_reader(sys.stdin.fileno())
                if not done.done():
                    done.set_result(None)
                return
            pending.extend(chunk)
            while b"\n" in pending:
                line, _, rest = bytes(pending).partition(b"\n")
                pending[:] = rest
                try:
                    on_command(line.decode())
                except CorosyncError as error:
                    emit("error", **error_fields(error))

        descriptors = {group.fd(): group.dispatch, votequorum.fd(): votequorum.dispatch}
        for descriptor, dispatch in descriptors.items():
            loop.add_reader(descriptor, guarded(dispatch))
        loop.add_reader(sys.stdin.fileno(), on_stdin)
        try:
            await done
        finally:
            for descriptor in descriptors:
                loop.remove_reader(descriptor)


def main() -> None:
    if sys.argv[1:] == ["--probe"]:
        probe()
        return
    try:
        asyncio.run(serve(sys.argv[1]))
    except CorosyncError as error:
        emit("error", **error_fields(error))
        sys.exit(3)


if __name__ == "__main__":
    main()
