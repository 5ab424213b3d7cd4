"""One cluster state on every host: each change is one message in corosync's total order, applied by every
member to its own SQLite copy in that order (the pmxcfs / Pacemaker-CIB model).

Rules:
- The bus (CPG in production, tests may use another) delivers every message to every member of the current
  configuration in the same order, and a membership change at the same point of that order for all of them
  (virtual synchrony). A member applies only what it is delivered, its own messages included: a change is
  acknowledged to whoever made it once it has been applied here, after its place in the order is fixed.
- After every membership change the members sync before anything else is applied: each sends a `hello` with
  its version (admin_epoch, epoch, num_updates); once every member's hello of this round is delivered, the
  newest copy (highest version, then lowest node id) is the source, which sends a `full` dump; every member
  whose copy differs takes it. Changes delivered meanwhile wait, in order, and are applied after the dump.
  A hello also carries a digest of the copy, so every member knows which members' copies were replaced
  (`replaced`): after partitions merge, what the losing side recorded about its own nodes is gone, and those
  nodes must be probed again (as Pacemaker's DC has every joining node upload its own history).
- A configuration change carries the epoch it was made on; where the epoch has moved on it is a conflict on
  every member alike (nothing written), and its maker is told to retry on the new state.
- A message from a member speaking another protocol version is refused with one log line naming it.
- A message is JSON; above COMPRESS_ABOVE bytes (a full dump, a large configuration) it goes zlib-compressed
  behind a NUL byte (JSON never starts with one), and a receiver inflates at most MAX_MESSAGE_BYTES of it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from appliance.store import replicated
from appliance.store.cib_store import CibStore
from appliance.store.replicated import ConfigChange, StatusChange, Version

log = logging.getLogger(__name__)
PROTOCOL = 5     # 2: fencing levels among the configuration tables; 3: fencing history; 4: tickets;
                 # 5: resource templates, tags, alerts, attribute sets with rules
COMPRESS_ABOVE = 64 * 1024
MAX_MESSAGE_BYTES = 512 * 1024 * 1024
_COMPRESSED = b"\x00"


class Bus(Protocol):
    def send(self, payload: bytes) -> None:
        """Multicast to the group in total order (delivered back to the sender too)."""


@dataclass(frozen=True)
class Outcome:
    change_id: str
    applied: bool
    reason: str = ""


@dataclass
class _Round:
    members: tuple[int, ...]
    hellos: dict[int, Version] = field(default_factory=dict)
    digests: dict[int, str] = field(default_factory=dict)
    source: int | None = None
    synced: bool = False              # the source's dump was delivered: changes apply from here on


class Replica:
    """Drive with `membership(members)` and `delivered(sender, payload)` from the bus's callbacks."""

    def __init__(self, store: CibStore, bus: Bus, nodeid: int, software: str,
                 on_outcome: Callable[[Outcome], None] = lambda outcome: None,
                 on_synced: Callable[[], None] = lambda: None):
        self.store, self.bus, self.nodeid, self.software = store, bus, nodeid, software
        self.on_outcome, self.on_synced = on_outcome, on_synced
        self._round: _Round | None = None
        self._waiting: list[tuple[int, dict]] = []
        self.refused_peers: set[int] = set()
        self.replaced: frozenset[int] = frozenset()   # members whose copy the last sync replaced

    @property
    def synced(self) -> bool:
        return self._round is not None and self._round.synced

    # -- making changes -----------------------------------------------------------------------------------

    def propose_configuration(self, change_id: str, change: ConfigChange) -> None:
        self._send({"kind": "config", "id": change_id, "change": change.to_json()})

    def propose_status(self, change_id: str, change: StatusChange) -> None:
        if not change.empty:
            self._send({"kind": "status", "id": change_id, "change": change.to_json()})

    # -- bus callbacks ------------------------------------------------------------------------------------

    def membership(self, members: tuple[int, ...]) -> None:
        # changes that waited for a sync that never came were applied by no member: dropped everywhere alike
        for sender, message in self._waiting:
            if sender == self.nodeid:
                self.on_outcome(Outcome(str(message.get("id", "")), False,
                                        "the cluster membership changed before it could be applied; run it again"))
        self._round = _Round(tuple(sorted(members)))
        self.refused_peers &= set(members)            # one that left may come back speaking our protocol
        self._waiting.clear()
        self._send({"kind": "hello", "version": list(replicated.version(self.store)), "members": self._round.members,
                    "digest": _digest(replicated.dump(self.store))})

    def delivered(self, sender: int, payload: bytes) -> None:
        try:
            message = json.loads(_inflate(payload) if payload.startswith(_COMPRESSED) else payload)
            if not isinstance(message, dict):
                raise ValueError("not an object")
            protocol = message.get("protocol")
        except (ValueError, zlib.error) as error:
            log.warning("node %d: unreadable cluster message (%s); ignored", sender, error)
            return
        if protocol != PROTOCOL:
            if sender not in self.refused_peers:
                log.error("node %d runs %s, cluster protocol %s; this host (%s) speaks %d: its messages are "
                          "ignored until both run the same version", sender, message.get("software", "?"),
                          protocol, self.software, PROTOCOL)
                self.refused_peers.add(sender)
            self._choose_source()                     # it will never say hello in our protocol
            return
        kind = message.get("kind")
        if kind == "hello":
            self._hello(sender, message)
        elif kind == "full":
            self._full(sender, message)
        elif kind in ("config", "status"):
            if self.synced:
                self._apply(sender, message)
            else:
                self._waiting.append((sender, message))
        else:
            log.warning("node %d: unknown cluster message kind %r; ignored", sender, kind)

    # -- sync ---------------------------------------------------------------------------------------------

    def _hello(self, sender: int, message: dict) -> None:
        current = self._round
        if current is None or tuple(message.get("members", ())) != current.members or sender not in current.members:
            return                                   # a hello of an earlier round
        current.hellos[sender] = tuple(message["version"])  # type: ignore[assignment]
        current.digests[sender] = str(message.get("digest", ""))     # none (an older peer): counted as different
        self._choose_source()

    def _choose_source(self) -> None:
        current = self._round
        if current is None or current.source is not None:
            return
        speaking = set(current.members) - self.refused_peers
        if not speaking or set(current.hellos) != speaking:
            return
        # newest copy wins; among equals the lowest node id, so every member picks the same one
        current.source = max(speaking, key=lambda node: (current.hellos[node], -node))
        kept = current.digests[current.source]
        self.replaced = frozenset(node for node in speaking if not kept or current.digests[node] != kept)
        if current.source == self.nodeid:
            self._send({"kind": "full", "members": current.members, "dump": replicated.dump(self.store)})

    def _full(self, sender: int, message: dict) -> None:
        current = self._round
        if current is None or current.synced or current.source != sender \
                or tuple(message.get("members", ())) != current.members:
            return
        dump = message["dump"]
        if sender != self.nodeid and replicated.dump(self.store) != dump:
            log.info("taking the cluster state from node %d (version %s)", sender,
                     tuple(dump["counters"][k] for k in ("admin_epoch", "epoch", "num_updates")))
            replicated.load(self.store, dump)
        current.synced = True
        waiting, self._waiting = self._waiting, []
        for waiting_sender, waiting_message in waiting:
            self._apply(waiting_sender, waiting_message)
        self.on_synced()

    # -- applying -----------------------------------------------------------------------------------------

    def _apply(self, sender: int, message: dict) -> None:
        change_id = str(message.get("id", ""))
        try:
            if message["kind"] == "config":
                applied = replicated.apply_configuration(self.store, ConfigChange.from_json(message["change"]))
                reason = "" if applied else "the configuration changed meanwhile; run the command again"
            else:
                replicated.apply_status(self.store, StatusChange.from_json(message["change"]))
                applied, reason = True, ""
        except (KeyError, TypeError, ValueError) as error:
            log.warning("node %d: malformed %s change %s (%s); ignored", sender, message.get("kind"), change_id,
                        error)
            applied, reason = False, f"malformed change: {error}"
        if sender == self.nodeid:
            self.on_outcome(Outcome(change_id, applied, reason))

    def _send(self, message: dict[str, Any]) -> None:
        payload = json.dumps({"protocol": PROTOCOL, "software": self.software, **message}).encode()
        self.bus.send(_COMPRESSED + zlib.compress(payload, 6) if len(payload) > COMPRESS_ABOVE else payload)


def _digest(dump: dict) -> str:
    return hashlib.sha256(json.dumps(dump, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _inflate(payload: bytes) -> bytes:
    inflater = zlib.decompressobj()
    data = inflater.decompress(payload[len(_COMPRESSED):], MAX_MESSAGE_BYTES)
    if inflater.unconsumed_tail or not inflater.eof:
        raise ValueError(f"a compressed message that is truncated or inflates beyond {MAX_MESSAGE_BYTES} bytes")
    return data
