"""Config files: `NAME.conf` then `NAME.conf.d/*.conf` (lexical order, later wins), then environment.

Format: INI-like `[section]` headers and `key = value` lines; `#` or `;` starts a
comment line, and ` #` an end-of-line comment. A missing main file means
embedded defaults. The first unknown section or key, bad value or unreadable
file raises one UserError naming the file and line; for read-only commands
(`tolerant`), such a file is left out as a whole instead, with a warning, so
`drover status` answers whatever a broken drop-in says. A key given twice in
one file is a warning (the later one wins). Environment variables (Pacemaker's
PCMK_* names) override files; a bad value there names the variable.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guest.common.errors import UserError
from guest.common.paths import Paths

Parser = Callable[[str], Any]


@dataclass(frozen=True)
class Option:
    section: str
    key: str
    default: str
    parse: Parser
    help: str
    env: str | None = None

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"


@dataclass(frozen=True)
class Schema:
    name: str  # "drover" or "guest": selects NAME.conf and NAME.conf.d/
    options: tuple[Option, ...]

    def sections(self) -> list[str]:
        return list(dict.fromkeys(o.section for o in self.options))

    def find(self, section: str, key: str) -> Option | None:
        return next((o for o in self.options if o.section == section and o.key == key), None)


@dataclass(frozen=True)
class Setting:
    value: Any
    text: str
    origin: str  # "default", "FILE:LINE" or "environment NAME"


@dataclass(frozen=True)
class Config:
    schema: Schema
    settings: Mapping[str, Setting]  # "section.key" -> Setting
    files: tuple[Path, ...]  # the files read, in order

    def __getitem__(self, name: str) -> Any:
        return self.settings[name].value

    def origin(self, name: str) -> str:
        return self.settings[name].origin

    def render(self) -> str:
        """The effective configuration as a config file, each line saying where it came from."""
        lines: list[str] = []
        for section in self.schema.sections():
            lines.append(f"[{section}]")
            for option in self.schema.options:
                if option.section == section:
                    setting = self.settings[option.name]
                    lines.append(f"{option.key} = {setting.text}  # {setting.origin}")
            lines.append("")
        return "\n".join(lines).rstrip("\n") + "\n"


# --- value parsers: each returns the typed value or raises ValueError saying what is expected

def parse_port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"expected a TCP port 1-65535, got {text!r}")
    return int(text)


def parse_positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|msec|s|sec|m|min|h|hr)?$")
_DURATION_SECONDS = {None: 1.0, "ms": 0.001, "msec": 0.001, "s": 1.0, "sec": 1.0,
                     "m": 60.0, "min": 60.0, "h": 3600.0, "hr": 3600.0}


def parse_duration(text: str) -> float:
    """Pacemaker's interval syntax: 30, 30s, 500ms, 5min, 1h (plain numbers are seconds)."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"expected a duration like 30s, 500ms, 5min or 1h, got {text!r}")
    return float(match.group(1)) * _DURATION_SECONDS[match.group(2)]


def parse_path(text: str) -> str:
    if not text:
        raise ValueError("expected a path, got nothing")
    return text


def parse_optional_path(text: str) -> str:
    return text


def parse_bind_address(text: str) -> str:
    """Empty means every address (IPv6 and IPv4 where the host has them)."""
    if not text:
        return text
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"expected an IP address such as 0.0.0.0, :: or 127.0.0.1, got {text!r}") from None
    return text


_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_-]{1,63})*$")


def parse_node_name(text: str) -> str:
    """Empty means "this host's short name", resolved where it is used."""
    if text and not _HOSTNAME.match(text):
        raise ValueError(f"expected a node name (letters, digits, '-', '_', '.'), got {text!r}")
    return text


def parse_choice(*choices: str) -> Parser:
    def parse(text: str) -> str:
        if text not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {text!r}")
        return text
    return parse


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("yes", "true", "on", "1"):
        return True
    if value in ("no", "false", "off", "0"):
        return False
    raise ValueError(f"expected yes or no, got {text!r}")


def parse_text(text: str) -> str:
    return text


LOG_LEVELS = ("debug", "info", "notice", "warning", "error")


# --- loading

_SECTION = re.compile(r"^\[\s*([A-Za-z0-9_.-]+)\s*\]$")
_ASSIGNMENT = re.compile(r"^([A-Za-z0-9_.-]+)\s*=\s*(.*)$")


def _strip_comment(line: str) -> str:
    match = re.search(r"\s[#;]", line)
    return line[: match.start()] if match else line


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_bytes().decode("utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: not UTF-8 text (byte {error.start}); fix or remove the file") from None
    except OSError as error:
        raise UserError(f"{path}: cannot read: {error.strerror}") from None


Warn = Callable[[str], None]


def _parse_file(schema: Schema, path: Path, values: dict[str, Setting], warn: Warn) -> None:
    section: str | None = None
    seen: dict[str, int] = {}
    for number, raw in enumerate(_read_lines(path), start=1):
        where = f"{path}:{number}"
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        line = _strip_comment(line).strip()
        if match := _SECTION.match(line):
            section = match.group(1)
            if section not in schema.sections():
                raise UserError(f"{where}: unknown section [{section}]; known sections: "
                                + ", ".join(f"[{s}]" for s in schema.sections()))
            continue
        match = _ASSIGNMENT.match(line)
        if not match:
            raise UserError(f"{where}: cannot parse {raw.strip()!r}; expected '[section]' or 'key = value'")
        key, text = match.group(1), match.group(2).strip()
        if section is None:
            raise UserError(f"{where}: '{key}' comes before any [section]; put it under one of "
                            + ", ".join(f"[{s}]" for s in schema.sections()))
        option = schema.find(section, key)
        if option is None:
            known = ", ".join(o.key for o in schema.options if o.section == section)
            raise UserError(f"{where}: unknown key '{key}' in [{section}]; known keys: {known}")
        if option.name in seen:
            warn(f"{where}: {key} in [{section}] is also set on line {seen[option.name]} of this file; "
                 "the later one wins")
        seen[option.name] = number
        values[option.name] = _setting(option, text, where)


def _setting(option: Option, text: str, origin: str) -> Setting:
    try:
        return Setting(option.parse(text), text, origin)
    except ValueError as error:
        raise UserError(f"{origin}: bad value for {option.name}: {error}") from None


def config_files(schema: Schema, paths: Paths) -> list[Path]:
    """The files that make up config `schema.name`, in the order they apply."""
    files = []
    main = paths.config_file(schema.name)
    if main.exists():
        files.append(main)
    dropins = paths.config_dropin_dir(schema.name)
    if dropins.is_dir():
        files.extend(sorted(p for p in dropins.iterdir() if p.name.endswith(".conf") and not p.is_dir()))
    return files


def load(schema: Schema, paths: Paths, environ: Mapping[str, str], tolerant: bool = False,
         warn: Warn | None = None) -> Config:
    warn = warn or (lambda message: None)
    values = {o.name: _setting(o, o.default, "default") for o in schema.options}
    files = []
    for path in config_files(schema, paths):
        from_file = dict(values)
        try:
            _parse_file(schema, path, from_file, warn)
        except UserError as error:
            if not tolerant:
                raise
            program = "drover" if schema.name == "drover" else "drover-guest"
            warn(f"{error.message}; {path} is left out here (`{program} config check` says what to fix)")
            continue
        values = from_file
        files.append(path)
    for option in schema.options:
        if option.env and option.env in environ:
            values[option.name] = _setting(option, environ[option.env].strip(), f"environment {option.env}")
    return Config(schema, values, tuple(files))
