"""`drover resource config [RESOURCE...]`: the configuration as pcs 0.11 prints it (`pcs resource config`).

Rules: pcs 0.11.4's layout (pcs/cli/resource/output.py): primitives, then
groups, then clones, each kind in configuration order (by id when names are
given); two spaces per level; an attribute set as "LABEL: SET-ID" over its
sorted name=value lines (quoted when they hold a space or '='); an operation as
"ACTION: OP-ID" over interval, start-delay, timeout, enabled, record-pending,
role, on-fail and OCF_CHECK_LEVEL. Fencing devices are `stonith config`'s. A
name not found is a warning; no name found at all is an error.
"""

from __future__ import annotations

import sys

from appliance.model.attributes import Attributes
from appliance.model.cluster import Configuration
from appliance.model.resources import Clone, Group, Op, Primitive, Resource, parents, walk
from appliance.model.values import format_interval
from guest.common.errors import UserError

STEP = "  "


def _quote(text: str) -> str:
    if not set("= ") & set(text):
        return text
    if '"' not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    return '"{}"'.format(text.replace('"', '\\"'))


def _pairs(pairs) -> list[str]:
    return [f"{_quote(name)}={_quote(value)}" for name, value in pairs]


def _indent(lines: list[str]) -> list[str]:
    return [STEP + line for line in lines]


def _nvset(label: str, set_id: str, attributes: Attributes) -> list[str]:
    if not len(attributes):
        return []
    return [f"{label}: {set_id}", *_indent(_pairs(sorted(attributes)))]


def _operation(op: Op) -> list[str]:
    pairs = [("interval", format_interval(op.interval_ms))]
    if op.options.get("start-delay"):
        pairs.append(("start-delay", op.options.get("start-delay")))
    elif op.options.get("interval-origin"):
        pairs.append(("interval-origin", op.options.get("interval-origin")))
    if op.timeout:
        pairs.append(("timeout", op.timeout))
    for name in ("enabled", "record-pending"):
        if op.options.get(name):
            pairs.append((name, op.options.get(name)))
    if op.role:
        pairs.append(("role", op.role))
    if op.on_fail:
        pairs.append(("on-fail", op.on_fail))
    if op.params.get("OCF_CHECK_LEVEL"):
        pairs.append(("OCF_CHECK_LEVEL", op.params.get("OCF_CHECK_LEVEL")))
    return [f"{op.name}: {op.id}", *_indent(_pairs(pairs))]


def _description(resource: Resource) -> list[str]:
    return [f"Description: {resource.description}"] if resource.description else []


def _primitive(primitive: Primitive) -> list[str]:
    agent = primitive.agent
    kind = f"class={agent.standard}" + (f" provider={agent.provider}" if agent.provider else "") + \
        f" type={agent.type}"
    body = [*_description(primitive),
            *_nvset("Attributes", f"{primitive.id}-instance_attributes", primitive.params),
            *_nvset("Meta Attributes", f"{primitive.id}-meta_attributes", primitive.meta),
            *_nvset("Utilization", f"{primitive.id}-utilization", primitive.utilization)]
    if primitive.ops:
        body += ["Operations:", *_indent([line for op in primitive.ops for line in _operation(op)])]
    return [f"Resource: {primitive.id} ({kind})", *_indent(body)]


def lines_of(resource: Resource) -> list[str]:
    if isinstance(resource, Primitive):
        return _primitive(resource)
    body = [*_description(resource), *_nvset("Meta Attributes", f"{resource.id}-meta_attributes", resource.meta)]
    for child in resource.children():
        body += lines_of(child)
    return [f"{'Group' if isinstance(resource, Group) else 'Clone'}: {resource.id}", *_indent(body)]


def _is_fencing(resource: Resource) -> bool:
    return isinstance(resource, Primitive) and resource.agent.standard == "stonith"


def config_text(configuration: Configuration, names: list[str]) -> str:
    """What `pcs resource config [NAME...]` prints; warnings (names not found) go to stderr."""
    every = [r for r in walk(configuration.resources) if not _is_fencing(r)]
    if names:
        found = {r.id: r for r in every if r.id in names}
        for name in names:
            if name not in found:
                print(f"Warning: Unable to find resource '{name}'", file=sys.stderr)
        if not found:
            raise UserError("No resource found")
        shown = sorted(found.values(), key=lambda r: r.id)
    else:
        nested = parents(configuration.resources)
        shown = [r for r in every if r.id not in nested]
    ordered = [r for kind in (Primitive, Group, Clone) for r in shown if isinstance(r, kind)]
    return "\n".join(line for resource in ordered for line in lines_of(resource))
