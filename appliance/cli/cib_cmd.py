"""`drover cib import|export`: the configuration as Pacemaker CIB XML.

Rules: import of a whole <cib> or <configuration> replaces the configuration
(its <status> too only with --include-status) like `cibadmin --replace`; a
fragment (<primitive>, <group>, <clone>, <resources>, <constraints>, one
constraint) is added, and an id already in use is an error; either way the
file is read and validated completely before anything is written.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from pathlib import Path

from appliance.cli import state
from appliance.model import edits
from appliance.model.cib_read import Fragment, read_fragment
from appliance.model.cib_write import write_cib
from appliance.model.cluster import Configuration
from appliance.model.resources import walk
from appliance.model.xmltree import MAX_XML_BYTES, parse
from guest.common.cli import Command, Context
from guest.common.errors import UserError

USAGE = """
Usage:
  drover cib import FILE [--include-status]
  drover cib export [FILE]

import: FILE (- for standard input) holds a whole <cib>, a <configuration>, or
fragments: <primitive>, <group>, <clone>, <template>, <resources>, <constraints>
or one rsc_location / rsc_colocation / rsc_order / rsc_ticket. A whole CIB or
configuration replaces the current configuration; fragments are added to it (a
primitive may be made from a template stored before).
export: the configuration and status as a CIB that crm_verify accepts
(to standard output without FILE).

Options:
  --include-status  Also replace the status (history, fail counts, transient attributes) from a whole CIB.
"""


def _too_large(source: str) -> UserError:
    return UserError(f"{source}: larger than {MAX_XML_BYTES // (1024 * 1024)} MiB, refused", 66)


def _read(path: str) -> tuple[bytes, str]:
    """The whole file, refused by size before it is read: never more than MAX_XML_BYTES + 1 bytes in memory."""
    if path == "-":
        data, source = sys.stdin.buffer.read(MAX_XML_BYTES + 1), "<stdin>"
    else:
        source = path
        try:
            with open(path, "rb") as stream:
                if os.fstat(stream.fileno()).st_size > MAX_XML_BYTES:
                    raise _too_large(source)
                data = stream.read(MAX_XML_BYTES + 1)
        except OSError as error:
            raise UserError(f"cannot read {path}: {error.strerror}", 66) from None
    if len(data) > MAX_XML_BYTES:
        raise _too_large(source)
    return data, source


def _import(args: dict, current: state.Settings) -> None:
    data, source = _read(args["FILE"])
    with state.model_errors():
        whole = parse(data, source).root.tag in ("cib", "configuration")
        fragment = read_fragment(data, source) if whole else Fragment()
    if fragment.cib is not None:
        if args["--include-status"] and not fragment.has_status:
            raise UserError(f"{source}: --include-status given but the file has no <status>")
        current.authorize()
        if current.clustered:
            state.edit_configuration(current, lambda _old: fragment.cib.configuration)
            if args["--include-status"]:
                state.edit_status(current, lambda _old: fragment.cib.status)
        else:
            with state.model_errors(), state.open_store(current) as store:
                store.replace(fragment.cib, args["--include-status"])
        configuration = fragment.cib.configuration
        print(f"Replaced the configuration from {source}: {len(list(walk(configuration.resources)))} resources, "
              f"{len(configuration.constraints)} constraints, {len(configuration.nodes)} nodes")
        return
    if args["--include-status"]:
        raise UserError("--include-status needs a whole <cib> file")

    added: list[Fragment] = []

    def edit(configuration: Configuration) -> Configuration:
        # read beside what is stored: a primitive of the file may be made from a template stored before
        part = read_fragment(data, source, configuration.templates)
        added[:] = [part]
        for template in part.templates:
            configuration = edits.add_template(configuration, template)
        for resource in part.resources:
            configuration = edits.add_resource(configuration, resource)
        for constraint in part.constraints:
            configuration = edits.add_constraint(configuration, constraint, allow_duplicate=True)
        return configuration

    try:
        state.edit_configuration(current, edit)
    except UserError as error:
        raise UserError(f"{source}: {error.message}", error.exit_code) from None
    part = added[0]
    templates = f"{len(part.templates)} templates, " if part.templates else ""
    print(f"Added from {source}: {templates}{len(part.resources)} resources, {len(part.constraints)} constraints")


def _write_atomically(path: Path, text: str) -> None:
    directory = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _export(args: dict, current: state.Settings) -> None:
    with state.open_store(current) as store:
        cib = store.read()
    text = write_cib(dataclasses.replace(cib, dc_uuid=None))
    if args["FILE"] in (None, "-"):
        sys.stdout.write(text)
        return
    try:
        _write_atomically(Path(args["FILE"]), text)
    except OSError as error:
        raise UserError(f"cannot write {args['FILE']}: {error.strerror}", 73) from None


def run(args: dict, context: Context) -> int:
    current = state.settings(context)
    if args["import"]:
        _import(args, current)
    else:
        _export(args, current)
    return 0


COMMAND = Command(USAGE, run)
