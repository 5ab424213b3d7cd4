"""corosync.conf as drover writes and reads it: the cluster's name and its hosts (name, node id, link addresses).

Rules: the file drover writes is the one `pcs cluster setup` writes for corosync 3 (knet, aes256/sha256,
votequorum, `two_node: 1` for exactly two hosts); hosts are given as pcs takes them, `HOST [addr=ADDR]...`
(no addr: the host name is its address), every host with the same number of links (1 to 8, knet's limit).
Parsing accepts any corosync.conf (comments, any order, sections drover does not use) and says, with the
line, what a file drover did not write lacks: totem.cluster_name, a nodelist whose nodes all have a name and
a node id, the votequorum provider. Pure: no file access here.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from guest.common.errors import UserError

MAX_LINKS = 8
MAX_HOSTS = 32
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
                       r"[A-Za-z0-9])?)*$")


@dataclass(frozen=True)
class Host:
    name: str
    nodeid: int
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class CorosyncConf:
    cluster_name: str
    hosts: tuple[Host, ...]
    options: dict[str, dict[str, str]] = field(default_factory=dict)   # other totem/quorum/logging keys kept

    @property
    def two_node(self) -> bool:
        return len(self.hosts) == 2

    def host(self, name: str) -> Host | None:
        return next((h for h in self.hosts if h.name == name), None)


class ConfError(UserError):
    pass


# -- building -------------------------------------------------------------------------------------------------

def hosts_from_args(tokens: list[str], first_nodeid: int = 1) -> tuple[Host, ...]:
    """pcs's host list: `node1 addr=10.0.0.1 addr=10.1.0.1 node2 addr=...`; node ids counted from first_nodeid."""
    specs: list[tuple[str, list[str]]] = []
    for token in tokens:
        name, sep, value = token.partition("=")
        if not sep:
            specs.append((_check_name(token, "host name"), []))
        elif name != "addr":
            raise ConfError(f"unknown host option '{_shown(token)}': only addr=ADDRESS is known")
        elif not specs:
            raise ConfError(f"'{_shown(token)}' must follow the host it belongs to")
        else:
            specs[-1][1].append(_check_address(value))
    hosts = tuple(Host(name, first_nodeid + i, tuple(addrs) or (name,)) for i, (name, addrs) in enumerate(specs))
    return hosts


def conf_for(cluster_name: str, hosts: tuple[Host, ...], options: dict[str, dict[str, str]] | None = None
             ) -> CorosyncConf:
    """A checked CorosyncConf: unique names, node ids and addresses, the same number of links everywhere."""
    _check_name(cluster_name, "cluster name")
    if not hosts:
        raise ConfError("a cluster needs at least one host")
    if len(hosts) > MAX_HOSTS:
        raise ConfError(f"{len(hosts)} hosts: drover supports at most {MAX_HOSTS}")
    for what, values in (("host name", [h.name for h in hosts]), ("node id", [h.nodeid for h in hosts]),
                         ("address", [a for h in hosts for a in h.addresses])):
        seen: set = set()
        for value in values:
            if value in seen:
                raise ConfError(f"{what} {value} is given twice")
            seen.add(value)
    links = {len(h.addresses) for h in hosts}
    if len(links) != 1:
        raise ConfError("every host needs the same number of addresses (one per knet link): "
                        + ", ".join(f"{h.name} has {len(h.addresses)}" for h in hosts))
    if links.pop() > MAX_LINKS:
        raise ConfError(f"at most {MAX_LINKS} addresses (knet links) per host")
    if any(not 1 <= h.nodeid <= 2**32 - 1 for h in hosts):
        raise ConfError("node ids are 1 to 4294967295")
    return CorosyncConf(cluster_name, hosts, options or {})


def with_host(conf: CorosyncConf, tokens: list[str]) -> CorosyncConf:
    """`cluster node add HOST [addr=...]`: the next free node id."""
    added = hosts_from_args(tokens, max(h.nodeid for h in conf.hosts) + 1)
    if len(added) != 1:
        raise ConfError("give one host to add: HOST [addr=ADDRESS]...")
    return conf_for(conf.cluster_name, (*conf.hosts, *added), conf.options)


def without_host(conf: CorosyncConf, name: str) -> CorosyncConf:
    if conf.host(name) is None:
        raise ConfError(f"host '{_shown(name)}' is not in the cluster; hosts: {', '.join(h.name for h in conf.hosts)}")
    remaining = tuple(h for h in conf.hosts if h.name != name)
    if not remaining:
        raise ConfError(f"'{name}' is the last host: use `drover cluster destroy` instead")
    return conf_for(conf.cluster_name, remaining, conf.options)


# -- writing --------------------------------------------------------------------------------------------------

DEFAULT_KEYFILE = "/etc/corosync/authkey"
DEFAULT_LOGFILE = "/var/log/corosync/corosync.log"


def render(conf: CorosyncConf, keyfile: str = DEFAULT_KEYFILE, logfile: str = DEFAULT_LOGFILE) -> str:
    totem = {"version": "2", "cluster_name": conf.cluster_name, "transport": "knet", "crypto_cipher": "aes256",
             "crypto_hash": "sha256", **conf.options.get("totem", {})}
    if keyfile != DEFAULT_KEYFILE:
        totem["keyfile"] = keyfile
    quorum = {"provider": "corosync_votequorum", **conf.options.get("quorum", {})}
    quorum.pop("two_node", None)
    if conf.two_node:
        quorum["two_node"] = "1"
    logging = {"to_logfile": "yes", "logfile": logfile, "to_syslog": "yes", "timestamp": "on",
               **conf.options.get("logging", {})}
    lines = ["# written by drover (drover cluster setup / node add / node remove)", ""]
    lines += _section("totem", totem)
    lines += ["nodelist {"]
    for host in conf.hosts:
        lines += ["    node {"]
        lines += [f"        ring{i}_addr: {address}" for i, address in enumerate(host.addresses)]
        lines += [f"        name: {host.name}", f"        nodeid: {host.nodeid}", "    }", ""]
    lines[-1:] = ["}", ""]
    lines += _section("quorum", quorum)
    lines += _section("logging", logging)
    return "\n".join(lines)


def _section(name: str, values: dict[str, str]) -> list[str]:
    return [f"{name} {{", *(f"    {key}: {value}" for key, value in values.items()), "}", ""]


# -- reading --------------------------------------------------------------------------------------------------

@dataclass
class _Section:
    name: str
    line: int
    values: dict[str, tuple[str, int]] = field(default_factory=dict)
    children: list[_Section] = field(default_factory=list)

    def child(self, name: str) -> list[_Section]:
        return [c for c in self.children if c.name == name]


def parse(text: str, source: str) -> CorosyncConf:
    top = _tokenize(text, source)
    totems = top.child("totem")
    if not totems or "cluster_name" not in totems[0].values:
        raise ConfError(f"{source}: no totem.cluster_name: drover needs the cluster's name "
                        "(write the file with `drover cluster setup`)")
    cluster_name = totems[0].values["cluster_name"][0]
    nodelists = top.child("nodelist")
    if not nodelists or not nodelists[0].child("node"):
        raise ConfError(f"{source}: no nodelist with nodes: drover needs every host listed "
                        "(write the file with `drover cluster setup`)")
    hosts = []
    for node in nodelists[0].child("node"):
        values = {key: value for key, (value, _) in node.values.items()}
        name, nodeid = values.get("name"), values.get("nodeid")
        if not name or not nodeid:
            raise ConfError(f"{source}:{node.line}: a node without name and nodeid: drover needs both")
        if not nodeid.isdigit():
            raise ConfError(f"{source}:{node.values['nodeid'][1]}: nodeid '{_shown(nodeid)}' is not a number")
        addresses = tuple(values[f"ring{i}_addr"] for i in range(MAX_LINKS) if f"ring{i}_addr" in values)
        hosts.append(Host(name, int(nodeid), addresses or (name,)))
    quorums = top.child("quorum")
    provider = quorums[0].values.get("provider", ("", 0))[0] if quorums else ""
    if provider != "corosync_votequorum":
        raise ConfError(f"{source}: quorum.provider is '{provider or 'not set'}': drover needs corosync_votequorum")
    options = {section: {key: value for key, (value, _) in top.child(section)[0].values.items()}
               for section in ("totem", "quorum", "logging") if top.child(section)}
    for generated in ("version", "cluster_name", "transport", "crypto_cipher", "crypto_hash"):
        if options.get("totem", {}).get(generated) in (None, *_DEFAULTS.get(generated, ())):
            options.get("totem", {}).pop(generated, None)
    options.get("quorum", {}).pop("provider", None)
    try:
        return conf_for(cluster_name, tuple(hosts), options)
    except ConfError as error:
        raise ConfError(f"{source}: {error.message}") from None


_DEFAULTS = {"version": ("2",), "transport": ("knet",), "crypto_cipher": ("aes256",), "crypto_hash": ("sha256",)}


def _tokenize(text: str, source: str) -> _Section:
    top = _Section("", 0)
    stack = [top]
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line == "}":
            if len(stack) == 1:
                raise ConfError(f"{source}:{number}: '}}' closes nothing")
            stack.pop()
        elif line.endswith("{"):
            name = line[:-1].strip()
            if not re.fullmatch(r"[A-Za-z0-9_.]+", name):
                raise ConfError(f"{source}:{number}: '{_shown(line)}' is not a section")
            section = _Section(name, number)
            stack[-1].children.append(section)
            stack.append(section)
        elif ":" in line:
            key, _, value = line.partition(":")
            stack[-1].values[key.strip()] = (value.strip(), number)
        else:
            raise ConfError(f"{source}:{number}: '{_shown(line)}' is neither 'key: value' nor a section")
    if len(stack) > 1:
        raise ConfError(f"{source}: section '{stack[-1].name}' opened at line {stack[-1].line} is never closed")
    return top


def _check_name(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise ConfError(f"invalid {what} '{_shown(name)}': letters, digits, '.', '_' and '-', at most 63, "
                        "starting with a letter or digit")
    return name


def _check_address(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        if _HOSTNAME.match(address) and not re.fullmatch(r"[0-9.]+", address):   # 10.0.0.300 is no host name
            return address
    raise ConfError(f"invalid address '{_shown(address)}': an IPv4 or IPv6 address or a host name")


def _shown(text: str) -> str:
    cut = text[:40] + ("..." if len(text) > 40 else "")
    return cut.encode("unicode_escape").decode("ascii")
