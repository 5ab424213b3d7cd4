#!/usr/bin/env python3
# Vendored unchanged from the project's shared/scheduler/oracle.py (Pacemaker as the test oracle), so tests
# do not depend on a checkout next to this one.
"""Run real Pacemaker (crm_simulate) on a CIB and print the normalized placement.

    python3 oracle.py CIB.xml            # JSON placement on stdout
    python3 oracle.py CIB.xml --time     # also report crm_simulate wall time on stderr

What it does:
    crm_simulate -x CIB.xml -S -O OUT.xml --output-as=xml
i.e. it computes one transition, simulates every action in it as successful,
and saves the resulting CIB.  The placement is read from the
<revised_cluster_status> that crm_simulate prints (default), or, with
--via crm_mon, from `CIB_file=OUT.xml crm_mon -1 --inactive --output-as=xml`.
Both views come from the same library code and agree (checked with --check).

The JSON schema is documented in SCHEMA.md.  The functions here are also
imported by compare.py, generate.py and pcmk_suite.py:

    normalize(obj)              canonical form of a placement dict (ours or the
                                project's); raises SchemaError when malformed
    placement_from_status_xml(elem)  placement from a crm_mon/crm_simulate
                                <nodes>/<resources> status element
    run_oracle(cib_path, ...)   -> OracleResult(placement, seconds, ...)
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

SCHEMA_VERSION = 1

ROLE_MAP = {
    "started": "Started",
    "promoted": "Promoted",
    "master": "Promoted",
    "unpromoted": "Unpromoted",
    "slave": "Unpromoted",
}
VALID_ROLES = ("Started", "Promoted", "Unpromoted")
NODE_STATES = ("online", "offline", "standby", "maintenance", "pending", "unclean")
_INSTANCE_RE = re.compile(r":\d+$")


class SchemaError(ValueError):
    pass


def base_id(rsc_id):
    """Strip a clone instance suffix: 'rsc:3' -> 'rsc'."""
    return _INSTANCE_RE.sub("", rsc_id)


def norm_role(role):
    r = ROLE_MAP.get(str(role).strip().lower())
    if r is None:
        raise SchemaError("unknown role %r" % (role,))
    return r


def normalize(obj):
    """Return the canonical form of a placement dict.

    Accepts the oracle's own output or the project's output (a dict, or a JSON
    string).  Canonical form: {"resources": {id: [[node, role], ...]},
    "nodes": {name: state}} with instance suffixes stripped from resource ids
    (entries of the same base id merged), roles mapped to Started / Promoted /
    Unpromoted, node states lower-cased, and every list sorted.  Unknown
    top-level keys are dropped.  Raises SchemaError on anything malformed.
    """
    if isinstance(obj, (str, bytes)):
        obj = json.loads(obj)
    if not isinstance(obj, dict):
        raise SchemaError("top level must be an object")
    if "resources" not in obj or "nodes" not in obj:
        raise SchemaError("missing 'resources' or 'nodes'")
    rin, nin = obj["resources"], obj["nodes"]
    if not isinstance(rin, dict) or not isinstance(nin, dict):
        raise SchemaError("'resources' and 'nodes' must be objects")
    resources = {}
    for rid, entries in rin.items():
        if not isinstance(rid, str):
            raise SchemaError("resource id must be a string")
        if not isinstance(entries, list):
            raise SchemaError("resources[%r] must be a list" % rid)
        lst = resources.setdefault(base_id(rid), [])
        for e in entries:
            if (not isinstance(e, (list, tuple)) or len(e) != 2
                    or not isinstance(e[0], str) or not isinstance(e[1], str)):
                raise SchemaError("resources[%r] entry %r is not [node, role]" % (rid, e))
            lst.append([e[0], norm_role(e[1])])
    for lst in resources.values():
        lst.sort()
    nodes = {}
    for name, state in nin.items():
        if not isinstance(name, str) or not isinstance(state, str):
            raise SchemaError("nodes entries must be string: string")
        st = state.strip().lower()
        if st not in NODE_STATES:
            raise SchemaError("node %r has unknown state %r" % (name, state))
        nodes[name] = st
    return {"resources": dict(sorted(resources.items())),
            "nodes": dict(sorted(nodes.items()))}


def result_flags(cib_root, placement):
    """Flags about the result itself (not the input), for meta.json "features".

    result:multi-active  a primitive that is not a clone instance is active on
                         more than one node after the transition.  This happens
                         in crm_simulate when a node's history is stale: it applies
                         a transition by appending each action's result to the
                         node's history and only real fencing erases a history;
                         guest-node "fencing" is a pseudo action, so resources a
                         recovered guest ran before still show there.
    result:stopped-all   nothing is active."""
    cloned = set()
    for tag in ("clone", "master", "bundle"):
        for c in cib_root.iter(tag):
            for p in c.iter("primitive"):
                cloned.add(p.get("id"))
    flags = []
    res = placement["resources"]
    if any(len(v) > 1 and k not in cloned for k, v in res.items()):
        flags.append("result:multi-active")
    if res and not any(res.values()):
        flags.append("result:stopped-all")
    return flags


def dumps(placement):
    """Stable, diff-friendly JSON text for a (normalized) placement:
    one resource / node per line, keys sorted, "resources" before "nodes"."""
    def block(d):
        if not d:
            return "{}"
        items = ["  %s: %s" % (json.dumps(k), json.dumps(v)) for k, v in sorted(d.items())]
        return "{\n" + ",\n".join(items) + "\n }"
    return ('{\n "resources": %s,\n "nodes": %s\n}'
            % (block(placement.get("resources", {})), block(placement.get("nodes", {}))))


def _true(v):
    return str(v).lower() in ("true", "1", "yes", "on")


def node_state(attrs):
    """Map a crm_mon <node> element's attributes to one state string."""
    if not _true(attrs.get("online", "false")):
        return "unclean" if _true(attrs.get("unclean", "false")) else "offline"
    if _true(attrs.get("unclean", "false")):
        return "unclean"
    if _true(attrs.get("pending", "false")):
        return "pending"
    if _true(attrs.get("maintenance", "false")):
        return "maintenance"
    if _true(attrs.get("standby", "false")) or _true(attrs.get("standby_onfail", "false")):
        return "standby"
    return "online"


def placement_from_status_xml(nodes_elem, resources_elem):
    """Build a placement from crm_mon-style <nodes> and <resources> elements."""
    nodes = {}
    if nodes_elem is not None:
        for n in nodes_elem.findall("node"):
            nodes[n.get("name")] = node_state(n.attrib)
    resources = {}
    if resources_elem is not None:
        for r in resources_elem.iter("resource"):
            rid = r.get("id")
            if rid is None:
                continue
            lst = resources.setdefault(base_id(rid), [])
            where = [n.get("name") for n in r.findall("node")]
            if not where:
                continue
            role = r.get("role", "Started")
            try:
                role = norm_role(role)
            except SchemaError:
                pass  # keep unexpected roles visible (e.g. 'Stopped', 'Unknown')
            for w in where:
                lst.append([w, role])
    return normalize_loose(resources, nodes)


def normalize_loose(resources, nodes):
    for lst in resources.values():
        lst.sort()
    return {"resources": dict(sorted(resources.items())),
            "nodes": dict(sorted(nodes.items()))}


def placement_from_crm_mon_xml(text):
    root = ET.fromstring(text)
    return placement_from_status_xml(root.find("nodes"), root.find("resources"))


def placement_from_simulate_xml(text):
    root = ET.fromstring(text)
    rev = root.find("revised_cluster_status")
    if rev is None:
        raise RuntimeError("crm_simulate output has no <revised_cluster_status>")
    return placement_from_status_xml(rev.find("nodes"), rev.find("resources"))


class OracleError(RuntimeError):
    pass


class OracleResult:
    def __init__(self, placement, seconds, output_cib=None, stdout=None):
        self.placement = placement
        self.seconds = seconds
        self.output_cib = output_cib
        self.stdout = stdout


def _env():
    env = dict(os.environ)
    env.pop("CIB_file", None)
    env["LC_ALL"] = "C"
    return env


def run_crm_simulate(cib_path, out_path, timeout=300, extra=()):
    """Run `crm_simulate -x CIB -S -O OUT --output-as=xml`; return (stdout, seconds)."""
    cmd = ["crm_simulate", "-x", cib_path, "-S", "-O", out_path,
           "--output-as=xml"] + list(extra)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_env())
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise OracleError("crm_simulate rc=%d: %s" % (p.returncode, _errors(p)))
    return p.stdout, dt


def _errors(p):
    """The error texts of a failed crm_simulate --output-as=xml run."""
    try:
        st = ET.fromstring(p.stdout).find("status")
        errs = [e.text or "" for e in st.iter("error")]
        return "; ".join([st.get("message", "")] + errs)
    except Exception:
        return (p.stderr or p.stdout)[-2000:]


def crm_mon_xml(cib_path, timeout=120):
    env = _env()
    env["CIB_file"] = os.path.abspath(cib_path)
    p = subprocess.run(["crm_mon", "-1", "--inactive", "--output-as=xml"],
                       capture_output=True, text=True, timeout=timeout, env=env)
    if p.returncode != 0:
        raise OracleError("crm_mon rc=%d: %s" % (p.returncode, p.stderr[-2000:]))
    return p.stdout


def run_oracle(cib_path, via="simulate", check=False, save_output=None, timeout=300,
               shift_days=None):
    """Run Pacemaker on cib_path; return OracleResult (placement normalized).

    shift_days: pretend "now" is that many days from now (crm_simulate -t); used to
    detect results that depend on the time of the run."""
    tmpdir = tempfile.mkdtemp(prefix="oracle-")
    extra = []
    if shift_days is not None:
        when = time.localtime(time.time() + shift_days * 86400)
        extra = ["-t", time.strftime("%Y-%m-%d %H:%M:%S", when)]
    try:
        out = os.path.join(tmpdir, "out.xml")
        stdout, secs = run_crm_simulate(cib_path, out, timeout=timeout, extra=extra)
        if not os.path.exists(out):
            raise OracleError("crm_simulate wrote no output CIB")
        p_sim = placement_from_simulate_xml(stdout)
        placement = p_sim
        if via == "crm_mon" or check:
            p_mon = placement_from_crm_mon_xml(crm_mon_xml(out))
            if check and p_mon != p_sim:
                raise OracleError("crm_simulate and crm_mon disagree:\n%s\n%s"
                                  % (dumps(p_sim), dumps(p_mon)))
            if via == "crm_mon":
                placement = p_mon
        if save_output:
            shutil.copyfile(out, save_output)
        return OracleResult(placement, secs, output_cib=save_output, stdout=stdout)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Run Pacemaker's crm_simulate -S on a CIB and print the normalized "
                    "resulting placement as JSON (schema: SCHEMA.md).")
    ap.add_argument("cib", help="CIB XML file (configuration + status)")
    ap.add_argument("--via", choices=("simulate", "crm_mon"), default="simulate",
                    help="read the result from crm_simulate's revised status (default) "
                         "or from crm_mon run on the saved output CIB")
    ap.add_argument("--check", action="store_true",
                    help="read both views and fail if they differ")
    ap.add_argument("--save-output", metavar="FILE", help="keep the resulting CIB here")
    ap.add_argument("--time", action="store_true", help="print crm_simulate wall time to stderr")
    ap.add_argument("--normalize", action="store_true",
                    help="instead: read a placement JSON file (e.g. the project's output) "
                         "given as CIB argument, and print its canonical form")
    ap.add_argument("--timeout", type=float, default=300)
    a = ap.parse_args(argv)
    if a.normalize:
        with open(a.cib) as f:
            print(dumps(normalize(json.load(f))))
        return 0
    try:
        res = run_oracle(a.cib, via=a.via, check=a.check, save_output=a.save_output,
                         timeout=a.timeout)
    except (OracleError, subprocess.TimeoutExpired) as e:
        print("oracle: %s" % e, file=sys.stderr)
        return 2
    print(dumps(res.placement))
    if a.time:
        print("crm_simulate: %.3fs" % res.seconds, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
