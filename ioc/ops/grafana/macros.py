"""What Grafana and its ClickHouse plugin do to a panel's SQL before ClickHouse sees it.

Reimplemented so every panel query can be expanded and run on chdb in the tests,
without a Grafana. Three steps, in the order the plugin applies them:

1. ``$__conditionalAll(condition, $var)`` — frontend (``applyConditionalAll`` in the
   plugin's src/data/CHDatasource.ts): the condition, or ``1=1`` when the variable
   selects All (or nothing). Processed from the last occurrence backwards.
2. Template variables — Grafana's template service: ``$var``, ``${var}``,
   ``${var:format}``; without a format the plugin's own formatter applies (a list
   becomes ``'a','b'``, a single value is inserted as is). Unknown names stay as written.
3. Backend macros — grafana-plugin-sdk-go ``sqlutil.Interpolate`` with the plugin's
   macro table (pkg/macros/macros.go): ``$__name`` followed by a word boundary,
   arguments only when ``(`` follows at once, split at top-level commas, trimmed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ioc.errors import IocError
from schemas.timeutil import to_ms, to_utc

ALL = "$__all"
"""The value Grafana stores when a variable's "All" option is selected."""

VariableValue = str | Sequence[str]


class MacroError(IocError):
    """A macro with the wrong arguments or an unclosed bracket (the plugin fails too)."""


@dataclass(frozen=True, slots=True)
class QueryContext:
    """What a panel query is expanded with: time range, interval, variable values."""

    time_from: datetime
    time_to: datetime
    interval: timedelta = timedelta(seconds=60)
    variables: Mapping[str, VariableValue] = field(default_factory=dict)
    all_values: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """What "All" expands to per variable (every option), when a query still uses it."""


# Grafana's roundInterval (packages/grafana-data/src/datetime/rangeutil.ts): the raw
# interval (range / max data points) snapped to a readable step.
_ROUNDING_MS: tuple[tuple[int, int], ...] = (
    (15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1_500, 1_000),
    (3_500, 2_000), (7_500, 5_000), (12_500, 10_000), (17_500, 15_000), (25_000, 20_000),
    (45_000, 30_000), (90_000, 60_000), (210_000, 120_000), (450_000, 300_000),
    (750_000, 600_000), (1_050_000, 900_000), (1_500_000, 1_200_000), (2_700_000, 1_800_000),
    (5_400_000, 3_600_000), (9_000_000, 7_200_000), (16_200_000, 10_800_000),
    (32_400_000, 21_600_000), (86_400_000, 43_200_000), (604_800_000, 86_400_000),
    (1_814_400_000, 604_800_000), (3_628_800_000, 2_592_000_000),
)  # fmt: skip


def auto_interval(span: timedelta, max_data_points: int = 1_000) -> timedelta:
    """The ``$__interval`` Grafana picks for a time range on a panel this many points wide."""
    raw_ms = span.total_seconds() * 1000 / max_data_points
    for below, step in _ROUNDING_MS:
        if raw_ms < below:
            return timedelta(milliseconds=step)
    return timedelta(days=365)


# --- 1. $__conditionalAll -------------------------------------------------------------

_CONDITIONAL_ALL = "$__conditionalAll("
_VAR_IN_ARG = re.compile(r"(?<=\$\{)\w+(?=\})|(?<=\$)\w+")


def _macro_args(text: str, open_paren: int) -> list[str]:
    """The plugin's getMacroArgs: split at commas of bracket depth 1 until the bracket closes."""
    args: list[str] = []
    depth = 0
    start = open_paren + 1
    for i in range(open_paren, len(text)):
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 1:
            args.append(text[start:i])
            start = i + 1
        if depth == 0:
            args.append(text[start:i])
            return args
    return []


def _is_all(value: VariableValue | None) -> bool:
    if value is None:
        return False
    text = value if isinstance(value, str) else ",".join(value)
    return text in ("", ALL)


def apply_conditional_all(sql: str, variables: Mapping[str, VariableValue]) -> str:
    """Replace each ``$__conditionalAll(cond, $var)`` by ``cond`` or ``1=1``."""
    index = sql.rfind(_CONDITIONAL_ALL)
    while index != -1:
        params = _macro_args(sql, index + len(_CONDITIONAL_ALL) - 1)
        if len(params) != 2:
            return sql  # as the plugin does: leave the query alone
        phrase = params[0]
        found = _VAR_IN_ARG.search(params[1].strip())
        if found and _is_all(variables.get(found.group(0))):
            phrase = "1=1"
        sql = sql.replace(f"{_CONDITIONAL_ALL}{params[0]},{params[1]})", phrase, 1)
        index = sql.rfind(_CONDITIONAL_ALL)
    return sql


# --- 2. template variables ------------------------------------------------------------

# Grafana's variable syntax (public/app/features/variables/utils.ts variableRegex).
_VARIABLE = re.compile(
    r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}"
)


def _plugin_format(values: VariableValue) -> str:
    # The plugin's format(): arrays joined as quoted strings, scalars untouched.
    if isinstance(values, str):
        return values
    return "'" + "','".join(values) + "'"


_FORMATS: dict[str, Callable[[list[str]], str]] = {
    "singlequote": lambda vs: ",".join("'" + v.replace("'", "\\'") + "'" for v in vs),
    "doublequote": lambda vs: ",".join('"' + v.replace('"', '\\"') + '"' for v in vs),
    "sqlstring": lambda vs: ",".join("'" + v.replace("'", "''") + "'" for v in vs),
    "csv": ",".join,
    "raw": ",".join,
    "pipe": "|".join,
    "text": ", ".join,
}


def replace_variables(sql: str, ctx: QueryContext) -> str:
    """Substitute dashboard and built-in variables as Grafana's template service does."""
    builtins: dict[str, VariableValue] = {
        "__from": str(to_ms(ctx.time_from)),
        "__to": str(to_ms(ctx.time_to)),
        "__interval": _duration_text(ctx.interval),
        "__interval_ms": str(int(ctx.interval.total_seconds() * 1000)),
    }

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) or match.group(6)
        value = builtins.get(name, ctx.variables.get(name))
        if value is None:
            return match.group(0)
        selects_all = value == ALL if isinstance(value, str) else list(value) == [ALL]
        if selects_all:
            value = list(ctx.all_values.get(name, ()))
        if fmt is None:
            return _plugin_format(value)
        values = [value] if isinstance(value, str) else list(value)
        if fmt not in _FORMATS:
            raise MacroError(f"variable format {fmt!r} is not implemented here")
        return _FORMATS[fmt](values)

    return _VARIABLE.sub(substitute, sql)


def _duration_text(interval: timedelta) -> str:
    seconds = int(interval.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s" if seconds else f"{int(interval.total_seconds() * 1000)}ms"


# --- 3. backend macros ----------------------------------------------------------------


def _date_time(t: datetime) -> str:
    return f"toDateTime({int(to_utc(t).timestamp())})"


def _date_time64(t: datetime) -> str:
    return f"fromUnixTimestamp64Milli({to_ms(t)})"


def _date(t: datetime) -> str:
    return f"toDate('{to_utc(t).strftime('%Y-%m-%d')}')"


def _one(name: str, args: list[str]) -> str:
    if len(args) != 1:
        raise MacroError(f"$__{name}: expected 1 argument, received {len(args)}")
    return args[0]


def _seconds(ctx: QueryContext) -> int:
    return int(max(ctx.interval.total_seconds(), 1))


MacroFunc = Callable[[QueryContext, list[str]], str]

MACROS: dict[str, MacroFunc] = {
    "fromTime": lambda c, a: _date_time(c.time_from),
    "toTime": lambda c, a: _date_time(c.time_to),
    "fromTime_ms": lambda c, a: _date_time64(c.time_from),
    "toTime_ms": lambda c, a: _date_time64(c.time_to),
    "timeFilter": lambda c, a: (
        f"{_one('timeFilter', a)} >= {_date_time(c.time_from)} AND "
        f"{a[0]} <= {_date_time(c.time_to)}"
    ),
    "timeFilter_ms": lambda c, a: (
        f"{_one('timeFilter_ms', a)} >= {_date_time64(c.time_from)} AND "
        f"{a[0]} <= {_date_time64(c.time_to)}"
    ),
    "dateFilter": lambda c, a: (
        f"{_one('dateFilter', a)} >= {_date(c.time_from)} AND {a[0]} <= {_date(c.time_to)}"
    ),
    "timeFrom": lambda c, a: f"{_one('timeFrom', a)} >= {_date_time(c.time_from)}",
    "timeTo": lambda c, a: f"{_one('timeTo', a)} <= {_date_time(c.time_to)}",
    "timeInterval": lambda c, a: (
        f"toStartOfInterval(toDateTime({_one('timeInterval', a)}), INTERVAL {_seconds(c)} second)"
    ),
    "timeInterval_ms": lambda c, a: (
        f"toStartOfInterval(toDateTime64({_one('timeInterval_ms', a)}, 3), "
        f"INTERVAL {max(int(c.interval.total_seconds() * 1000), 1)} millisecond)"
    ),
    "interval_s": lambda c, a: str(_seconds(c)),
}


def _date_time_filter(ctx: QueryContext, args: list[str]) -> str:
    if len(args) != 2:
        raise MacroError(f"$__dateTimeFilter: expected 2 arguments, received {len(args)}")
    date_column, time_column = args
    return (
        f"({date_column} >= {_date(ctx.time_from)} AND {date_column} <= {_date(ctx.time_to)}) "
        f"AND ({time_column} >= {_date_time(ctx.time_from)} AND "
        f"{time_column} <= {_date_time(ctx.time_to)})"
    )


MACROS["dateTimeFilter"] = _date_time_filter
MACROS["dt"] = _date_time_filter


def parse_args(text: str) -> tuple[list[str] | None, int]:
    """Sqlutil's parseArgs: a bracketed list right at the start, or none; -1 = unclosed."""
    if not text.startswith("("):
        return None, 0
    args: list[str] = []
    depth = 0
    current: list[str] = []
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
            if depth == 1:
                continue
        elif ch == ")":
            depth -= 1
            if depth == 0:
                args.append("".join(current).strip())
                return args, i + 1
        elif ch == "," and depth == 1:
            args.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    return None, -1


def interpolate(sql: str, ctx: QueryContext) -> str:
    """Replace every backend macro, as the plugin's backend does."""
    for name in sorted(MACROS, key=len, reverse=True):
        pattern = re.compile(rf"\$__{re.escape(name)}\b", re.ASCII)
        matches = []
        for found in pattern.finditer(sql):
            args, length = parse_args(sql[found.end() :])
            if length < 0:
                raise MacroError(f"$__{name}: missing close bracket")
            matches.append((sql[found.start() : found.end() + length], args or []))
        for full, args in matches:
            sql = sql.replace(full, MACROS[name](ctx, args))
    return sql


def expand(sql: str, ctx: QueryContext) -> str:
    """A panel's SQL as ClickHouse receives it from Grafana."""
    sql = apply_conditional_all(sql, ctx.variables)
    sql = replace_variables(sql, ctx)
    return interpolate(sql, ctx)
