"""Fencing topology: Pacemaker's <fencing-topology> levels as data, and pcs's way of naming a level's target.

Rules: a level fences one target, named by exactly one of `target` (a node name), `target-pattern` (a regular
expression over node names) or `target-attribute` + `target-value` (nodes with that node attribute); `index`
1 to 9 orders the levels of one target (the fencer tries them in order, each level's devices all needed).
Devices are stonith resource ids, comma-separated in the XML. pcs names targets as `NODE`,
`regexp%PATTERN` or `attrib%NAME=VALUE`, and levels `fl-TARGET-INDEX`. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from appliance.model.values import ModelError, id_problem

MAX_INDEX = 9


@dataclass(frozen=True)
class FencingLevel:
    id: str
    index: int
    devices: tuple[str, ...]
    target: str | None = None
    target_pattern: str | None = None
    target_attribute: str | None = None
    target_value: str | None = None

    @property
    def target_text(self) -> str:
        """The target as pcs spells it."""
        if self.target is not None:
            return self.target
        if self.target_pattern is not None:
            return f"regexp%{self.target_pattern}"
        return f"attrib%{self.target_attribute}={self.target_value}"

    def targets(self, node: str, attributes: dict[str, str]) -> bool:
        """Whether this level is for `node` (whose node attributes are `attributes`)."""
        if self.target is not None:
            return self.target == node
        if self.target_pattern is not None:
            return re.search(self.target_pattern, node) is not None
        return attributes.get(self.target_attribute or "") == self.target_value


def parse_index(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_INDEX:
        raise ModelError(f"invalid fencing level index '{text}': expected 1 to {MAX_INDEX}")
    return int(text)


def parse_devices(text: str) -> tuple[str, ...]:
    devices = tuple(device for device in text.split(",") if device)
    if not devices:
        raise ModelError("a fencing level needs at least one device")
    for device in devices:
        problem = id_problem(device)
        if problem:
            raise ModelError(f"invalid device id '{device}': {problem}")
    return devices


def level(target_text: str, index: int, devices: tuple[str, ...], level_id: str | None = None) -> FencingLevel:
    """A level from pcs's target spelling (NODE, regexp%PATTERN, attrib%NAME=VALUE)."""
    kind, separator, rest = target_text.partition("%")
    if separator and kind == "regexp":
        try:
            re.compile(rest)
        except re.error as error:
            raise ModelError(f"invalid fencing target pattern '{rest}': {error}") from None
        fields = {"target_pattern": rest}
        name = "regexp"
    elif separator and kind == "attrib":
        attribute, equals, value = rest.partition("=")
        if not equals or not attribute:
            raise ModelError(f"invalid fencing target '{target_text}': expected attrib%NAME=VALUE")
        fields = {"target_attribute": attribute, "target_value": value}
        name = attribute
    elif separator:
        raise ModelError(f"invalid fencing target '{target_text}': expected NODE, regexp%PATTERN or "
                         "attrib%NAME=VALUE")
    else:
        fields = {"target": target_text}
        name = target_text
    made_id = level_id or f"fl-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}-{index}"
    return FencingLevel(made_id, index, devices, **fields)


def check_levels(levels: tuple[FencingLevel, ...]) -> None:
    """What crm_verify refuses: an index out of range, two levels of one target with one index, a level
    with no target or two kinds of target."""
    seen: dict[tuple[str, int], str] = {}
    for item in levels:
        kinds = [item.target is not None, item.target_pattern is not None,
                 item.target_attribute is not None]
        if sum(kinds) != 1:
            raise ModelError(f"fencing level {item.id} needs exactly one of target, target-pattern or "
                             "target-attribute")
        if not 1 <= item.index <= MAX_INDEX:
            raise ModelError(f"fencing level {item.id}: index {item.index} is not 1 to {MAX_INDEX}")
        key = (item.target_text, item.index)
        if key in seen:
            raise ModelError(f"fencing levels {seen[key]} and {item.id} are both level {item.index} of "
                             f"{item.target_text}")
        seen[key] = item.id
