"""Reading the configuration's parts beyond resources and constraints for cib_read: a <bundle> as written
(runtime, network, port and storage mappings, its primitive) and checked as Pacemaker's unpacking checks it;
<acls> kept as the element itself; <alerts> with their recipients and select filters; the fencing topology.

Rules: `reader` is cib_read's reader (its fail, check_* and nvset helpers), so messages name the element and
line the same way as for every other part of a CIB.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from appliance.model import rule_sets as owners
from appliance.model.acls import check as check_acls
from appliance.model.alerts import SELECT_ELEMENTS, Alert, AlertSelect, Recipient
from appliance.model.attributes import Attributes
from appliance.model.bundles import (
    NETWORK_ATTRIBUTES,
    PORT_ATTRIBUTES,
    RUNTIME_ATTRIBUTES,
    RUNTIMES,
    STORAGE_ATTRIBUTES,
    Bundle,
)
from appliance.model.bundles import check as check_bundle
from appliance.model.fencing import FencingLevel, parse_devices, parse_index
from appliance.model.values import ModelError

SELECT_TAGS = {element: kind for kind, element in SELECT_ELEMENTS.items()}


def read_bundle(reader, element: ET.Element, position: int) -> Bundle:
    reader.check_attributes(element, ("id", "description"))
    reader.check_children(element, (*RUNTIMES, "network", "storage", "primitive", "meta_attributes",
                                    "instance_attributes"))
    bid = reader.required(element, "id")
    runtimes = [child for child in element if child.tag in RUNTIMES]
    if len(runtimes) != 1:
        raise reader.fail(element, f"a bundle names exactly one container runtime ({', '.join(RUNTIMES)})")
    runtime = runtimes[0]
    reader.check_attributes(runtime, RUNTIME_ATTRIBUTES)
    reader.check_children(runtime, ())
    for name in ("replicas", "replicas-per-host", "masters", "promoted-max"):
        value = runtime.get(name)
        if value is not None and not value.lstrip("-").isdigit():
            raise reader.fail(runtime, f"invalid {name} '{value}': expected an integer")
    network_element = element.find("network")
    network, ports = None, []
    if network_element is not None:
        reader.check_attributes(network_element, NETWORK_ATTRIBUTES)
        reader.check_children(network_element, ("port-mapping",))
        network = Attributes.of(network_element.attrib.items())
        for port in network_element.findall("port-mapping"):
            reader.check_attributes(port, PORT_ATTRIBUTES)
            reader.required(port, "id")
            if (port.get("port") is None) == (port.get("range") is None):
                raise reader.fail(port, "a port-mapping has either a port or a range")
            ports.append(Attributes.of(port.attrib.items()))
    storage_element = element.find("storage")
    storage = None
    if storage_element is not None:
        reader.check_attributes(storage_element, ())
        reader.check_children(storage_element, ("storage-mapping",))
        storage = []
        for mapping in storage_element.findall("storage-mapping"):
            reader.check_attributes(mapping, STORAGE_ATTRIBUTES)
            reader.required(mapping, "id")
            reader.required(mapping, "target-dir")
            if (mapping.get("source-dir") is None) == (mapping.get("source-dir-root") is None):
                raise reader.fail(mapping, "a storage-mapping has either a source-dir or a source-dir-root")
            storage.append(Attributes.of(mapping.attrib.items()))
    inner = element.findall("primitive")
    if len(inner) > 1:
        raise reader.fail(inner[1], "a bundle wraps at most one primitive")
    owner = owners.resource_owner(bid)
    bundle = Bundle(bid, runtime.tag, Attributes.of(runtime.attrib.items()), network, tuple(ports),
                    tuple(storage) if storage is not None else None,
                    reader.nvset(element, "meta_attributes", owner), reader.nvset(element, "instance_attributes"),
                    reader.primitive(inner[0]) if inner else None, element.get("description"), position)
    try:
        check_bundle(bundle)
    except ModelError as error:
        raise reader.fail(element, error.message) from None
    return bundle


def read_acls(reader, element: ET.Element | None) -> str | None:
    if element is None:
        return None
    try:
        check_acls(element)
    except ModelError as error:
        raise reader.fail(element, error.message) from None
    copy = ET.fromstring(ET.tostring(element))
    copy.tail = None
    return ET.tostring(copy, encoding="unicode")


def read_alert_select(reader, element: ET.Element) -> AlertSelect | None:
    select = element.find("select")
    if select is None:
        return None
    reader.check_children(select, tuple(SELECT_TAGS))
    names: list[str] = []
    for attributes in select.findall("select_attributes"):
        reader.check_children(attributes, ("attribute",))
        for attribute in attributes.findall("attribute"):
            reader.check_attributes(attribute, ("id", "name"))
            names.append(reader.required(attribute, "name"))
    return AlertSelect(tuple(dict.fromkeys(SELECT_TAGS[child.tag] for child in select)), tuple(names))


def read_alerts(reader, element: ET.Element | None) -> tuple[Alert, ...]:
    if element is None:
        return ()
    reader.check_children(element, ("alert",))
    found = []
    parts = ("select", "meta_attributes", "instance_attributes")
    for alert in element.findall("alert"):
        reader.check_attributes(alert, ("id", "path", "description"))
        reader.check_children(alert, (*parts, "recipient"))
        recipients = []
        for recipient in alert.findall("recipient"):
            reader.check_attributes(recipient, ("id", "value", "description"))
            reader.check_children(recipient, parts)
            recipients.append(Recipient(reader.required(recipient, "id"), reader.required(recipient, "value"),
                                        recipient.get("description"), reader.nvset(recipient, "instance_attributes"),
                                        reader.nvset(recipient, "meta_attributes"),
                                        read_alert_select(reader, recipient)))
        found.append(Alert(reader.required(alert, "id"), reader.required(alert, "path"), alert.get("description"),
                           reader.nvset(alert, "instance_attributes"), reader.nvset(alert, "meta_attributes"),
                           read_alert_select(reader, alert), tuple(recipients)))
    return tuple(found)


def read_fencing_levels(reader, element: ET.Element | None) -> tuple[FencingLevel, ...]:
    if element is None:
        return ()
    reader.check_children(element, ("fencing-level",))
    levels = []
    for item in element.findall("fencing-level"):
        reader.check_attributes(item, ("id", "index", "devices", "target", "target-pattern", "target-attribute",
                                       "target-value"))
        index = reader.converted(item, lambda text, _what: parse_index(text), reader.required(item, "index"),
                                 "index")
        devices = reader.converted(item, lambda text, _what: parse_devices(text), reader.required(item, "devices"),
                                   "devices")
        if item.get("target-attribute") is not None and item.get("target-value") is None:
            raise reader.fail(item, "target-attribute needs target-value")
        levels.append(FencingLevel(reader.required(item, "id"), index, devices, item.get("target"),
                                   item.get("target-pattern"), item.get("target-attribute"),
                                   item.get("target-value")))
    return tuple(levels)
