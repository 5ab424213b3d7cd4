"""What the appliance may ask a guest daemon: the request table of the 3121 server.

    ping                      -> {}
    exec   {operation}        -> {"key", "result"}; interval_ms > 0 registers a recurring
                                 operation: the response carries its first result, later
                                 changes arrive as "op_result" events
    cancel {resource, action, interval_ms} -> {"cancelled": bool}
    status                    -> recurring operations, newest last results (bounded, no output)
    agents {standard, provider?} -> {"agents": [...]} installed agent types
"""

from __future__ import annotations

import json
import os
from typing import Any

from guest.agents.executor import Executor
from guest.agents.results import Operation, OpResult
from guest.protocol.operations import InvalidOperation, operation_from_args, operation_to_args
from guest.server.session import Handler, RequestError, Session

STATUS_BUDGET = 512 * 1024       # bytes of a status reply (frames are capped at 1 MiB)


def _brief(result: OpResult) -> dict[str, Any]:
    return {**result.to_dict(), "output": ""}


def handlers(executor: Executor) -> dict[str, Handler]:
    async def ping(session: Session, args: dict[str, Any]) -> dict[str, Any]:
        return {}

    async def execute(session: Session, args: dict[str, Any]) -> dict[str, Any]:
        try:
            operation = operation_from_args(args)
        except InvalidOperation as error:
            raise RequestError(f"invalid operation: {error}") from None
        if operation.interval_ms == 0:
            result = await executor.execute(operation)
        else:
            def changed(op: Operation, result: OpResult) -> None:
                session.send_event("op_result", {"key": op.key, "operation": operation_to_args(op),
                                                 "result": result.to_dict()})
            result = await executor.start_recurring(operation, session.name, changed)
        return {"key": operation.key, "result": result.to_dict()}

    async def cancel(session: Session, args: dict[str, Any]) -> dict[str, Any]:
        resource, action, interval = args.get("resource"), args.get("action"), args.get("interval_ms")
        if not (isinstance(resource, str) and isinstance(action, str) and isinstance(interval, int)):
            raise RequestError("cancel needs resource, action and interval_ms")
        return {"cancelled": executor.cancel(resource, action, interval, session.name)}

    async def status(session: Session, args: dict[str, Any]) -> dict[str, Any]:
        """The newest results first, without agent output, cut to STATUS_BUDGET bytes ("truncated" says so):
        the reply always fits a frame."""
        budget = STATUS_BUDGET
        recurring, last_results, truncated = [], {}, False
        for r in reversed(executor.recurring()):
            entry = {"operation": operation_to_args(r.operation), "owner": r.owner,
                     "last": _brief(r.last) if r.last else None}
            budget -= len(json.dumps(entry))
            if budget < 0:
                truncated = True
                break
            recurring.append(entry)
        for key, result in reversed(executor.last_results.items()):
            if budget < 0:
                truncated = True
                break
            brief = _brief(result)
            budget -= len(json.dumps(brief)) + len(key) + 8
            last_results[key] = brief
        return {"recurring": recurring, "last_results": last_results, "truncated": truncated,
                "running_processes": executor.runner.running}

    async def agents(session: Session, args: dict[str, Any]) -> dict[str, Any]:
        standard, provider = args.get("standard"), args.get("provider", "")
        settings = executor.settings
        if standard == "ocf":
            if not isinstance(provider, str) or "/" in provider or provider.startswith("."):
                raise RequestError("invalid provider")
            directory = settings.ocf_root / "resource.d" / provider
        elif standard == "lsb":
            directory = settings.lsb_dir
        else:
            raise RequestError("agents lists ocf or lsb agents")
        names = sorted(p.name for p in directory.iterdir() if p.is_file() and os.access(p, os.X_OK)) \
            if directory.is_dir() else []
        return {"agents": names}

    return {"ping": ping, "exec": execute, "cancel": cancel, "status": status, "agents": agents}
