"""How each resource standard is invoked and how its exit is read: OCF, LSB, systemd.

Pure: builds an Invocation (argv + environment) from an Operation, and turns a
finished process into an OpResult. OCF agents get Pacemaker's environment
(OCF_ROOT, OCF_RESOURCE_INSTANCE, OCF_RESKEY_*, OCF_RESKEY_CRM_meta_* including
interval and timeout in milliseconds). LSB status codes are mapped to OCF ones
as Pacemaker maps them; systemd units are driven through systemctl.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from guest.agents.process import Completed
from guest.agents.results import AgentSpec, ExecStatus, OcfRc, Operation, OpResult, failed

EXIT_REASON_PREFIX = "ocf-exit-reason:"
SYSTEMCTL = "/usr/bin/systemctl"


@dataclass(frozen=True)
class AgentSettings:
    ocf_root: Path = Path("/usr/lib/ocf")
    lsb_dir: Path = Path("/etc/init.d")
    base_env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    systemd_running: bool = field(default_factory=lambda: Path("/run/systemd/system").is_dir())


@dataclass(frozen=True)
class Invocation:
    argv: tuple[str, ...]
    env: Mapping[str, str]


def _env_name(name: str) -> str:
    return name.replace("-", "_").replace(".", "_")


def ocf_environment(operation: Operation, settings: AgentSettings) -> dict[str, str]:
    env = dict(settings.base_env)
    env = {k: v for k, v in env.items() if not k.startswith("OCF_RESKEY_")}
    env.update({
        "OCF_ROOT": str(settings.ocf_root),
        "OCF_RA_VERSION_MAJOR": "1",
        "OCF_RA_VERSION_MINOR": "1",
        "OCF_RESOURCE_INSTANCE": operation.resource,
        "OCF_RESOURCE_TYPE": operation.agent.type,
        "OCF_RESOURCE_PROVIDER": operation.agent.provider,
        "OCF_EXIT_REASON_PREFIX": EXIT_REASON_PREFIX,
    })
    env.update({f"OCF_RESKEY_{_env_name(k)}": v for k, v in operation.params.items() if k != "OCF_CHECK_LEVEL"})
    if "OCF_CHECK_LEVEL" in operation.params:  # an op attribute Pacemaker passes as itself
        env["OCF_CHECK_LEVEL"] = operation.params["OCF_CHECK_LEVEL"]
    env.update({f"OCF_RESKEY_CRM_meta_{_env_name(k)}": v for k, v in operation.meta.items()})
    env["OCF_RESKEY_CRM_meta_interval"] = str(operation.interval_ms)
    env["OCF_RESKEY_CRM_meta_timeout"] = str(operation.timeout_ms)
    return env


def resolve(operation: Operation, settings: AgentSettings) -> Operation:
    """`service:NAME` means systemd where systemd runs, else LSB, as in Pacemaker."""
    if operation.agent.standard != "service":
        return operation
    standard = "systemd" if settings.systemd_running else "lsb"
    return dataclasses.replace(operation, agent=AgentSpec(standard, operation.agent.type))


def invocation(operation: Operation, settings: AgentSettings) -> Invocation | OpResult:
    """The command to run (for a resolved operation), or a result straight away when there is nothing to run."""
    standard = operation.agent.standard
    if standard == "ocf":
        path = settings.ocf_root / "resource.d" / operation.agent.provider / operation.agent.type
        outside = "/" in operation.agent.type or "/" in (operation.agent.provider or "")
        if outside or not os.access(path, os.X_OK) or path.is_dir():      # an OCF agent lives in resource.d
            return failed(ExecStatus.NOT_INSTALLED, f"OCF agent {operation.agent} not found at {path}",
                          OcfRc.ERR_INSTALLED)
        return Invocation((str(path), operation.action), ocf_environment(operation, settings))
    if standard == "lsb":
        script = settings.lsb_dir / operation.agent.type
        if not os.access(script, os.X_OK) or script.is_dir():
            return failed(ExecStatus.NOT_INSTALLED, f"init script {script} not found", OcfRc.ERR_INSTALLED)
        verb = {"monitor": "status", "status": "status", "start": "start", "stop": "stop",
                "reload": "force-reload"}.get(operation.action)
        if verb is None:
            return failed(ExecStatus.NOT_SUPPORTED, f"LSB scripts have no {operation.action} action",
                          OcfRc.UNIMPLEMENTED)
        return Invocation((str(script), verb), dict(settings.base_env))
    if standard == "systemd":
        unit = operation.agent.type if "." in operation.agent.type else f"{operation.agent.type}.service"
        verb = {"monitor": "is-active", "status": "is-active", "start": "start", "stop": "stop",
                "reload": "reload"}.get(operation.action)
        if verb is None:
            return failed(ExecStatus.NOT_SUPPORTED, f"systemd units have no {operation.action} action",
                          OcfRc.UNIMPLEMENTED)
        return Invocation((SYSTEMCTL, verb, "--", unit), dict(settings.base_env))
    return failed(ExecStatus.INVALID, f"unknown standard {standard}", OcfRc.ERR_CONFIGURED)


def _exit_reason(output: str) -> str:
    reasons = [line[len(EXIT_REASON_PREFIX):].strip() for line in output.splitlines()
               if line.startswith(EXIT_REASON_PREFIX)]
    return reasons[-1][:512] if reasons else ""


def lsb_to_ocf(action: str, code: int) -> int:
    """Pacemaker's services__lsb2ocf."""
    if action not in ("monitor", "status"):
        return code if 0 <= code <= OcfRc.NOT_RUNNING else OcfRc.ERR_GENERIC
    return {0: OcfRc.OK, 1: OcfRc.NOT_RUNNING, 2: OcfRc.NOT_RUNNING, 3: OcfRc.NOT_RUNNING,
            150: OcfRc.ERR_INSTALLED, 151: OcfRc.ERR_PERM}.get(code, OcfRc.ERR_GENERIC)


def systemd_to_ocf(action: str, code: int, output: str) -> int:
    if action in ("monitor", "status"):
        state = output.strip().splitlines()[-1].strip() if output.strip() else ""
        return OcfRc.OK if state in ("active", "reloading", "activating") else OcfRc.NOT_RUNNING
    if code == 5:  # systemctl: no such unit
        return OcfRc.ERR_INSTALLED
    return OcfRc.OK if code == 0 else OcfRc.ERR_GENERIC


def interpret(operation: Operation, completed: Completed, started: float) -> OpResult:
    """The result of a resolved operation whose process has finished."""
    def result(status: ExecStatus, rc: int, reason: str = "") -> OpResult:
        return OpResult(status, int(rc), completed.output, reason or _exit_reason(completed.output), started,
                        completed.duration_ms)

    if completed.spawn_error:
        return result(ExecStatus.ERROR, OcfRc.ERR_GENERIC, completed.spawn_error)
    if completed.timed_out:
        return result(ExecStatus.TIMEOUT, OcfRc.ERR_GENERIC,
                      f"{operation.action} timed out after {operation.timeout_ms}ms")
    if completed.exit_code is None:
        return result(ExecStatus.ERROR, OcfRc.ERR_GENERIC, f"agent killed by signal {completed.signal}")
    code = completed.exit_code
    if operation.agent.standard == "lsb":
        code = lsb_to_ocf(operation.action, code)
    elif operation.agent.standard == "systemd":
        code = systemd_to_ocf(operation.action, code, completed.output)
    return result(ExecStatus.DONE, code)
