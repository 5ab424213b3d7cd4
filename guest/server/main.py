"""The guest daemon's wiring: config, authkey, executor and the 3121 server, serving until SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

from guest.agents.executor import Executor
from guest.agents.process import ProcessRunner
from guest.agents.standards import AgentSettings
from guest.common import authkey, config, sdnotify, tooldir, trim
from guest.common.errors import UserError
from guest.common.paths import Paths
from guest.common.selfexec import is_compiled, self_command
from guest.common.version import version_line
from guest.server.handlers import handlers
from guest.server.local import LocalServer, socket_path
from guest.server.server import GuestServer, ServerSettings
from guest.server.session import Limits

log = logging.getLogger("drover-guest")


async def serve(loaded: config.Config) -> None:
    identities = authkey.identities(loaded, apart=True)
    paths = Paths.from_environment()
    tools = tooldir.install(paths.run_dir / "tools", self_command("guest"))
    agent_env = tooldir.agent_environment(os.environ, tools)
    executor = Executor(ProcessRunner(), AgentSettings(ocf_root=Path(loaded["agents.ocf_root"]), base_env=agent_env))
    settings = ServerSettings(bind_address=loaded["remote.bind_address"], port=loaded["remote.port"],
                              handshake_timeout=loaded["remote.handshake_timeout"],
                              limits=Limits(frame_timeout=loaded["remote.frame_timeout"],
                                            idle_timeout=loaded["remote.idle_timeout"]))
    server = GuestServer(settings, identities, handlers(executor), version_line("drover-guest"),
                         on_session_end=executor.cancel_owner)
    try:
        addresses = await server.start()
    except OSError as error:
        where = f"{settings.bind_address or '*'}:{settings.port}"
        raise UserError(f"cannot listen on {where}: {error.strerror or error}") from None
    local = LocalServer(socket_path(paths.run_dir), server.controller, loaded["access.policy"])
    try:
        await local.start()
    except OSError as error:
        raise UserError(f"cannot listen on {socket_path(paths.run_dir)}: {error.strerror or error}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    log.info("%s listening on %s, key %s", version_line("drover-guest"),
             ", ".join(f"{a[0]}:{a[1]}" for a in addresses), ", ".join(i.fingerprint for i in identities))
    sdnotify.notify("READY=1")
    trim.trim_program_image(is_compiled())
    await stop.wait()
    log.info("shutting down")
    sdnotify.notify("STOPPING=1")
    await local.close()
    await server.close()
    await executor.shutdown()
