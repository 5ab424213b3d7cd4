"""Pacemaker's <acls>: kept as written and exported unchanged; drover does not enforce them (the hypervisor's
root administers drover, as root administers Pacemaker regardless of ACLs).

Rules: what is kept is the element itself, checked for the structure Pacemaker's acls-2.0 schema gives it
(targets, groups and roles with ids; permissions with a kind and one of xpath, reference or object-type).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from appliance.model.values import ModelError

ENTRIES = ("acl_target", "acl_group", "acl_role", "acl_user")
KINDS = ("read", "write", "deny")


def check(element: ET.Element) -> None:
    for entry in element:
        if entry.tag not in ENTRIES:
            raise ModelError(f"unexpected element <{entry.tag}> inside <acls>")
        if not entry.get("id"):
            raise ModelError(f"<{entry.tag}> inside <acls> needs an id")
        for permission in entry.iter("acl_permission"):
            if not permission.get("id"):
                raise ModelError(f"an acl_permission of '{entry.get('id')}' needs an id")
            if permission.get("kind") not in KINDS:
                raise ModelError(f"acl_permission '{permission.get('id')}' needs a kind: {', '.join(KINDS)}")
            if not any(permission.get(name) for name in ("xpath", "reference", "object-type")):
                raise ModelError(f"acl_permission '{permission.get('id')}' needs an xpath, reference or "
                                 "object-type")


def acl_ids(text: str) -> list[str]:
    """The XML ids the <acls> element defines (targets and groups are named by theirs, roles and permissions
    too); a target's or group's role reference is no id of its own."""
    return [element.get("id", "") for element in ET.fromstring(text).iter()
            if element.tag != "role" and element.get("id")]
