"""Pacemaker's scalar value syntaxes: scores, booleans, intervals, roles.

Rules: parse functions raise ModelError with a message naming the bad value
(quoted by shown(): one line, cut short); a value Pacemaker would silently
misread is refused (a score beyond a C long long, a duration beyond a guint of
milliseconds); ids are XML NCNames of at most 255 characters; format functions
produce what Pacemaker itself writes, so exports round-trip.
"""

from __future__ import annotations

import re

INFINITY = 1_000_000


class ModelError(Exception):
    """Invalid configuration or edit; the message is meant for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


_SCORE_WORDS = {"INFINITY": INFINITY, "+INFINITY": INFINITY, "-INFINITY": -INFINITY}
_INTEGER = re.compile(r"[+-]?\d+")
_LONG_LONG = 2 ** 63


def shown(text: str, limit: int = 40) -> str:
    """User input quoted for a one-line message: control characters escaped, long text cut short."""
    printable = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if len(printable) <= limit:
        return f"'{printable}'"
    return f"'{printable[:limit]}...' ({len(text)} characters)"


def parse_score(text: str, what: str = "score") -> int:
    """'100', '-INFINITY', '+INFINITY' -> int clamped to +-INFINITY, like Pacemaker's char2score.

    An integer beyond a C long long is refused: char2score would silently read it as 0."""
    value = text.strip()
    word = _SCORE_WORDS.get(value.upper())
    if word is not None:
        return word
    if not _INTEGER.fullmatch(value):
        raise ModelError(f"invalid {what} {shown(text)}: expected an integer, INFINITY or -INFINITY")
    if len(value.lstrip("+-")) > 19 or not -_LONG_LONG <= int(value) < _LONG_LONG:
        raise ModelError(f"invalid {what} {shown(text)}: out of range (Pacemaker would read it as 0); "
                         "use INFINITY or -INFINITY")
    return max(-INFINITY, min(INFINITY, int(value)))


def format_score(score: int) -> str:
    if score >= INFINITY:
        return "INFINITY"
    if score <= -INFINITY:
        return "-INFINITY"
    return str(score)


def add_scores(a: int, b: int) -> int:
    """Pacemaker's score addition: -INFINITY wins over +INFINITY, results clamp."""
    if a <= -INFINITY or b <= -INFINITY:
        return -INFINITY
    if a >= INFINITY or b >= INFINITY:
        return INFINITY
    return max(-INFINITY, min(INFINITY, a + b))


_TRUE = frozenset({"true", "yes", "on", "y", "1"})
_FALSE = frozenset({"false", "no", "off", "n", "0"})


def is_true(text: str | None) -> bool:
    return text is not None and text.strip().lower() in _TRUE


def parse_boolean(text: str, what: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ModelError(f"invalid {what} {shown(text)}: expected true or false")


_INTERVAL = re.compile(r"(\d+)\s*(ms|msec|us|usec|s|sec|m|min|h|hr)?", re.IGNORECASE)
_UNIT_MS = {None: 1000, "ms": 1, "msec": 1, "s": 1000, "sec": 1000, "m": 60_000, "min": 60_000,
            "h": 3_600_000, "hr": 3_600_000}
_ISO_PART = re.compile(r"T|(\d+)([YMWDHS])", re.IGNORECASE)
_ISO_S = {"Y": 365 * 86400, "W": 7 * 86400, "D": 86400, "H": 3600, "S": 1}
MAX_DURATION_MS = 2 ** 32 - 1          # Pacemaker keeps durations in a guint of milliseconds (about 49.7 days)
_MAX_DIGITS = 20                       # more digits than this exceed MAX_DURATION_MS in any unit


def _duration_ms(text: str) -> int | None:
    value = text.strip()
    match = _INTERVAL.fullmatch(value)
    if match:
        if len(match.group(1)) > _MAX_DIGITS:
            return MAX_DURATION_MS + 1
        unit = match.group(2).lower() if match.group(2) else None
        if unit in ("us", "usec"):
            return int(match.group(1)) // 1000
        return int(match.group(1)) * _UNIT_MS[unit]
    return _iso_duration_ms(value)


def _iso_duration_ms(value: str) -> int | None:
    """An ISO 8601 duration as Pacemaker's crm_time_parse_duration reads it: P, then NUMBER+UNIT parts (Y, M, W,
    D, H, S; M is months before the T and minutes after it; H and S need no T, so P10S is 10 seconds)."""
    if len(value) < 2 or value[0] not in "Pp":
        return None
    seconds, in_time, position, parts = 0, False, 1, 0
    while position < len(value):
        part = _ISO_PART.match(value, position)
        if part is None:
            return None
        position = part.end()
        if part.group(1) is None:
            in_time = True
            continue
        if len(part.group(1)) > _MAX_DIGITS:
            return MAX_DURATION_MS + 1
        number, unit = int(part.group(1)), part.group(2).upper()
        if unit == "M":
            seconds += number * (60 if in_time else 30 * 86400)
        else:
            seconds += number * _ISO_S[unit]
        parts += 1
    return seconds * 1000 if parts else None


def parse_interval_ms(text: str, what: str = "interval") -> int:
    """Pacemaker interval/timeout syntax ('10s', '30', '1min', '500ms', 'PT1M') -> milliseconds.

    Longer than MAX_DURATION_MS is refused: Pacemaker would cut it to that silently."""
    ms = _duration_ms(text)
    if ms is None:
        raise ModelError(f"invalid {what} {shown(text)}: expected a duration such as 30s, 10min or 500ms")
    if ms > MAX_DURATION_MS:
        raise ModelError(f"invalid {what} {shown(text)}: longer than 49 days "
                         f"({MAX_DURATION_MS} ms, the most Pacemaker can hold)")
    return ms


def format_interval(ms: int) -> str:
    """Milliseconds -> '0s', '10s', '60s' or '1500ms', as pcs writes intervals."""
    if ms % 1000 == 0:
        return f"{ms // 1000}s"
    return f"{ms}ms"


ROLES = ("Stopped", "Started", "Unpromoted", "Promoted")
_ROLE_ALIASES = {"stopped": "Stopped", "started": "Started", "unpromoted": "Unpromoted", "slave": "Unpromoted",
                 "promoted": "Promoted", "master": "Promoted"}


def parse_role(text: str, what: str = "role") -> str:
    role = _ROLE_ALIASES.get(text.strip().lower())
    if role is None:
        raise ModelError(f"invalid {what} {shown(text)}: expected one of {', '.join(ROLES)}")
    return role


ACTIONS = ("start", "stop", "promote", "demote")


def parse_action(text: str, what: str = "action") -> str:
    action = text.strip().lower()
    if action not in ACTIONS:
        raise ModelError(f"invalid {what} {shown(text)}: expected one of {', '.join(ACTIONS)}")
    return action


_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
MAX_ID_LENGTH = 255


def id_problem(text: str) -> str | None:
    """Why `text` is not an id Pacemaker's schema accepts (an XML NCName) of sane length, or None."""
    if not text:
        return "an id cannot be empty"
    if len(text) > MAX_ID_LENGTH:
        return f"longer than {MAX_ID_LENGTH} characters"
    if not _ID.fullmatch(text):
        return "use letters, digits, '_', '.' or '-', starting with a letter or '_'"
    return None


def check_id(text: str, what: str = "id") -> str:
    """XML ID rules as Pacemaker's schema enforces them (an NCName: a letter or _ first, no ':')."""
    problem = id_problem(text)
    if problem is not None:
        raise ModelError(f"invalid {what} {shown(text)}: {problem}")
    return text


def sanitize_id(text: str) -> str:
    """Turn free text into a valid XML ID the way pcs builds nvpair/op ids."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", text)
    return cleaned if cleaned and _ID.match(cleaned) else f"_{cleaned}"
