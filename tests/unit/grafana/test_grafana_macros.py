"""The macro expander against the expansions the ClickHouse plugin itself documents and tests.

Expected strings are the plugin's own, from github.com/grafana/clickhouse-datasource:
- pkg/macros/macros_test.go (TestMacroFromTimeFilter, TestMacroToTimeFilter,
  TestMacroFromTimeFilterMs, TestMacroToTimeFilterMs, TestMacroDateFilter,
  TestMacroDateTimeFilter, TestMacroTimeInterval, TestMacroTimeIntervalMs,
  TestMacroIntervalSeconds and the TestInterpolate table) — the backend macros;
- docs/sources/query-editor.md, the "Macros" table (output examples, e.g.
  ``$__timeFilter(columnName)`` → ``time >= toDateTime(1415792726) AND time <=
  toDateTime(1447328726)``);
- src/data/CHDatasource.test.ts, describe('Conditional All') and the
  applyTemplateVariables "$__conditionalAll" cases — the frontend macro;
and the argument parsing of grafana-plugin-sdk-go data/sqlutil/macros_test.go
(Test_parseArgs: "even just a space is enough", "nested parens are not parsed
further", "missing close bracket is an error"; TestInterpolate: "this macro name's
substring is another macro", "don't consume args after a space").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ioc.ops.grafana.macros import (
    ALL,
    MacroError,
    QueryContext,
    apply_conditional_all,
    expand,
    interpolate,
    parse_args,
    replace_variables,
)

pytestmark = pytest.mark.unit

# The plugin tests' time range: 2014-11-12T11:45:26.371Z → 2015-11-12T11:45:26.371Z
FROM = datetime(2014, 11, 12, 11, 45, 26, 371_000, tzinfo=UTC)
TO = datetime(2015, 11, 12, 11, 45, 26, 371_000, tzinfo=UTC)
CTX = QueryContext(FROM, TO, interval=timedelta(seconds=20))


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("$__fromTime", "toDateTime(1415792726)"),
        ("$__toTime", "toDateTime(1447328726)"),
        ("$__fromTime_ms", "fromUnixTimestamp64Milli(1415792726371)"),
        ("$__toTime_ms", "fromUnixTimestamp64Milli(1447328726371)"),
        (
            "$__dateFilter(dateCol)",
            "dateCol >= toDate('2014-11-12') AND dateCol <= toDate('2015-11-12')",
        ),
        (
            "$__dateTimeFilter(dateCol, timeCol)",
            "(dateCol >= toDate('2014-11-12') AND dateCol <= toDate('2015-11-12')) AND "
            "(timeCol >= toDateTime(1415792726) AND timeCol <= toDateTime(1447328726))",
        ),
        ("$__timeInterval(col)", "toStartOfInterval(toDateTime(col), INTERVAL 20 second)"),
        (
            "$__timeInterval_ms(col)",
            "toStartOfInterval(toDateTime64(col, 3), INTERVAL 20000 millisecond)",
        ),
        (
            "select toStartOfInterval(col, INTERVAL $__interval_s second)",
            "select toStartOfInterval(col, INTERVAL 20 second)",
        ),
        ("$__timeFrom(time)", "time >= toDateTime(1415792726)"),
        ("$__timeTo(time)", "time <= toDateTime(1447328726)"),
    ],
)
def test_backend_macros_as_plugin_tests(sql: str, expected: str) -> None:
    assert interpolate(sql, CTX) == expected


def test_interpolate_table_of_the_plugin() -> None:
    """macros_test.go TestInterpolate (from 11:45:26.123Z to 11:45:26.456Z)."""
    ctx = QueryContext(
        datetime(2014, 11, 12, 11, 45, 26, 123_000, tzinfo=UTC),
        datetime(2015, 11, 12, 11, 45, 26, 456_000, tzinfo=UTC),
    )
    cases = {
        "select * from foo where $__timeFilter(cast(sth as timestamp))":
            "select * from foo where cast(sth as timestamp) >= toDateTime(1415792726) AND cast(sth as timestamp) <= toDateTime(1447328726)",
        "select * from foo where $__timeFilter(cast(sth as timestamp) )":
            "select * from foo where cast(sth as timestamp) >= toDateTime(1415792726) AND cast(sth as timestamp) <= toDateTime(1447328726)",
        "select * from foo where $__timeFilter_ms(cast(sth as timestamp))":
            "select * from foo where cast(sth as timestamp) >= fromUnixTimestamp64Milli(1415792726123) AND cast(sth as timestamp) <= fromUnixTimestamp64Milli(1447328726456)",
        "select * from foo where ( date >= $__fromTime and date <= $__toTime ) limit 100":
            "select * from foo where ( date >= toDateTime(1415792726) and date <= toDateTime(1447328726) ) limit 100",
        "select * from foo where ( date >= $__fromTime ) and ( date <= $__toTime ) limit 100":
            "select * from foo where ( date >= toDateTime(1415792726) ) and ( date <= toDateTime(1447328726) ) limit 100",
        "select * from foo where ( date >= $__fromTime_ms and date <= $__toTime_ms ) limit 100":
            "select * from foo where ( date >= fromUnixTimestamp64Milli(1415792726123) and date <= fromUnixTimestamp64Milli(1447328726456) ) limit 100",
    }  # fmt: skip
    for sql, expected in cases.items():
        assert interpolate(sql, ctx) == expected


def test_docs_example_for_timefilter() -> None:
    ctx = QueryContext(
        datetime.fromtimestamp(1415792726, UTC), datetime.fromtimestamp(1447328726, UTC)
    )
    assert interpolate("$__timeFilter(time)", ctx) == (
        "time >= toDateTime(1415792726) AND time <= toDateTime(1447328726)"
    )


def test_interval_is_at_least_one_second() -> None:
    ctx = QueryContext(FROM, TO, interval=timedelta(milliseconds=200))
    assert interpolate("$__interval_s", ctx) == "1"
    assert interpolate("$__timeInterval_ms(c)", ctx).endswith("INTERVAL 200 millisecond)")


def test_argument_parsing_of_the_sdk() -> None:
    assert parse_args("foo bar") == (None, 0)
    assert parse_args(" (bar)") == (None, 0)  # even just a space is enough
    assert parse_args("(bar, baz, quux)") == (["bar", "baz", "quux"], 16)
    assert parse_args("(bar(some,thing))") == (["bar(some,thing)"], 17)
    assert parse_args("(arg1, arg2), not_an_arg, nope") == (["arg1", "arg2"], 12)
    assert parse_args("(arg1, arg2") == (None, -1)
    with pytest.raises(MacroError):
        interpolate("select * from foo where $__timeFilter(whoops", CTX)
    with pytest.raises(MacroError):
        interpolate("$__timeFilter(a, b)", CTX)


def test_word_boundary_keeps_longer_names_apart() -> None:
    # $__timeFilter must not eat the start of $__timeFilter_ms, nor $__fromTime of $__fromTime_ms.
    sql = "$__timeFilter_ms(t) AND $__fromTime_ms < $__fromTime"
    assert interpolate(sql, CTX) == (
        "t >= fromUnixTimestamp64Milli(1415792726371) AND t <= fromUnixTimestamp64Milli(1447328726371)"
        " AND fromUnixTimestamp64Milli(1415792726371) < toDateTime(1415792726)"
    )
    # Arguments only when "(" follows at once: $__fromTime (x) keeps "(x)".
    assert interpolate("$__fromTime (1)", CTX) == "toDateTime(1415792726) (1)"


def test_conditional_all_as_plugin_tests() -> None:
    sql = "select stuff from table where $__conditionalAll(fieldVal in ($fieldVal), $fieldVal);"
    assert apply_conditional_all(sql, {"fieldVal": ALL}) == "select stuff from table where 1=1;"
    assert apply_conditional_all(sql, {"fieldVal": "'val1', 'val2'"}) == (
        "select stuff from table where fieldVal in ($fieldVal);"
    )
    two = (
        "select stuff from table where $__conditionalAll(fieldVal in ($fieldVal), $fieldVal) "
        "and $__conditionalAll(fieldVal in ($fieldVal2), $fieldVal2);"
    )
    assert apply_conditional_all(two, {"fieldVal": "'val1', 'val2'", "fieldVal2": ALL}) == (
        "select stuff from table where fieldVal in ($fieldVal) and 1=1;"
    )
    assert apply_conditional_all("$__conditionalAll(foo, $fieldVal)", {"fieldVal": ALL}) == "1=1"
    assert apply_conditional_all("$__conditionalAll(foo, $fieldVal)", {"fieldVal": "v"}) == "foo"
    # Grafana stores a multi-value "All" as ["$__all"]; an empty selection counts as All too.
    assert apply_conditional_all("$__conditionalAll(foo, ${v})", {"v": [ALL]}) == "1=1"
    assert apply_conditional_all("$__conditionalAll(foo, $v)", {"v": []}) == "1=1"


def test_template_variables_and_formats() -> None:
    ctx = QueryContext(
        FROM, TO, variables={"area": ["689", "690"], "level": "district", "q": ["it's"]}
    )
    assert replace_variables("level = '${level}' AND x IN ($area)", ctx) == (
        "level = 'district' AND x IN ('689','690')"
    )
    assert replace_variables("${area:singlequote}|${area:csv}|${q:sqlstring}|[[level]]", ctx) == (
        "'689','690'|689,690|'it''s'|district"
    )
    # Unknown names and macros are left for the next step.
    assert replace_variables("$nope $__timeFilter(t) $__interval_s", ctx) == (
        "$nope $__timeFilter(t) $__interval_s"
    )
    assert replace_variables("$__from $__to $__interval", ctx) == "1415792726371 1447328726371 1m"
    all_ctx = QueryContext(FROM, TO, variables={"area": [ALL]}, all_values={"area": ["1", "2"]})
    assert replace_variables("${area:singlequote}", all_ctx) == "'1','2'"


def test_full_expansion_order() -> None:
    """conditionalAll first (so "All" removes the clause), then variables, then macros."""
    sql = (
        "SELECT 1 FROM t WHERE $__timeFilter(ts) AND level = '${level}' "
        "AND $__conditionalAll(code IN (${area:singlequote}), $area)"
    )
    picked = QueryContext(FROM, TO, variables={"level": "district", "area": ["689"]})
    assert expand(sql, picked) == (
        "SELECT 1 FROM t WHERE ts >= toDateTime(1415792726) AND ts <= toDateTime(1447328726) "
        "AND level = 'district' AND code IN ('689')"
    )
    everything = QueryContext(FROM, TO, variables={"level": "district", "area": [ALL]})
    assert expand(sql, everything).endswith("AND level = 'district' AND 1=1")
