"""`drover tag ...`: tags, names for lists of resources that constraints may use in place of a resource (pcs tag).

Rules: pcs 0.11's spelling, messages and checks (model.edits): a tag lists existing resources, each once, and is
never empty; a tag a constraint names cannot be removed; `update` adds at the end or, with --before/--after,
next to an id of the tag (moving ids already in it). Every change is a configuration edit (the caller's full
access needed). Deleting a resource takes it out of its tags, and an emptied tag goes with it.
"""

from __future__ import annotations

import sys

from appliance.cli import state
from appliance.model import edits
from appliance.model.cluster import Configuration
from guest.common.cli import EXIT_USAGE, Command, Context
from guest.common.errors import UserError

USAGE = """
Usage:
  drover tag create TAG ID...
  drover tag (delete|remove) TAG...
  drover tag update TAG [ARGS...] [--before=ID | --after=ID]
  drover tag [config|list] [TAG...] [--output-as=FORMAT]

A constraint may name a tag where it names a resource (rsc, with-rsc, first,
then, or a resource set's resource_ref): it then holds for every resource of the
tag, as an unordered set.

  update TAG [add ID...] [remove ID...]
      add puts the ids at the end of the tag, or before/after --before/--after
      (ids already in the tag are moved there); remove takes ids out.

Options:
  --before=ID         Put the added ids before this id of the tag.
  --after=ID          Put the added ids after this id of the tag.
  --output-as=FORMAT  text (default) or json.
"""


def _keywords(tokens: list[str]) -> dict[str, list[str]]:
    """pcs's group_by_keywords for `add ... remove ...`: each keyword at most once, nothing before the first."""
    groups: dict[str, list[str]] = {}
    current: list[str] | None = None
    for token in tokens:
        if token in ("add", "remove"):
            if token in groups:
                raise UserError(f"'{token}' cannot be used more than once", EXIT_USAGE)
            current = groups[token] = []
        elif current is None:
            raise UserError(f"expected 'add' or 'remove' before '{token}'", EXIT_USAGE)
        else:
            current.append(token)
    if not groups or any(not ids for ids in groups.values()):
        raise UserError("Specify at least one id for 'add' or 'remove' arguments.", EXIT_USAGE)
    return groups


def _show(args: dict, configuration: Configuration) -> None:
    wanted = args["TAG"]
    for tag_id in wanted:
        edits.require_tag(configuration, tag_id)
    tags = [configuration.tag(t) for t in wanted] if wanted else list(configuration.tags)
    if state.output_format(args, ("text", "json")) == "json":
        state.print_json({"tags": [{"id": t.id, "refs": list(t.refs)} for t in tags if t is not None]})
        return
    if not tags:
        print(" No tags defined", file=sys.stderr)
        return
    for tag in tags:
        if tag is not None:
            print(tag.id)
            for ref in tag.refs:
                print(f"  {ref}")


def run(args: dict, context: Context) -> int:
    current = state.settings(context)
    tag_ids: list[str] = args["TAG"]
    with state.model_errors():
        if args["create"]:
            ids = args["ID"]
            state.edit_configuration(current, lambda c: edits.create_tag(c, tag_ids[0], ids))
        elif args["delete"] or args["remove"]:
            state.edit_configuration(current, lambda c: edits.remove_tags(c, tag_ids))
        elif args["update"]:
            groups = _keywords(args["ARGS"])
            adjacent = args["--before"] or args["--after"]
            state.edit_configuration(current, lambda c: edits.update_tag(
                c, tag_ids[0], groups.get("add", []), groups.get("remove", []), adjacent, not args["--before"]))
        else:
            with state.open_store(current) as store:
                _show(args, store.configuration())
    return 0


COMMAND = Command(USAGE, run)
