"""Named, documented analyst queries: the ``.sql`` files of ``sql/queries/``.

Each file starts with a comment saying what it answers and its ``Parameters:`` (``$name``).
:func:`run_query` binds the parameters (never pastes them into SQL) and checks that exactly
the query's parameters are given. Analysts' queries, named or their own (``distillguard sql``),
run in the sandbox of :meth:`distillguard.store.Store.open_analyst`; :func:`explain_sql_error`
turns what DuckDB refuses or rejects there into one line with a hint.

>>> "account_profile" in query_names()
True
>>> query_info("new_flags_since").params
['since']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import duckdb
import polars as pl

from distillguard.features.families import ALL_FEATURES
from distillguard.features.registry import placed_names
from distillguard.store import Store, sql_text

PARAM = re.compile(r"\$([A-Za-z_]\w*)")


def feature_columns(use: str) -> str:
    """The select list of the registry's features with a place in ``use``, as doubles, in order.

    >>> feature_columns("profile").split(", ")[:2]
    ['CAST(n_requests AS DOUBLE) AS n_requests', 'CAST(requests_per_active_hour AS DOUBLE) AS requests_per_active_hour']
    """
    return ", ".join(f"CAST({name} AS DOUBLE) AS {name}" for name in placed_names(ALL_FEATURES, use))


#: Lists a query's text may name, filled in from the feature registry (:mod:`distillguard.features.families`).
FEATURE_LISTS = {"{profile_features}": "profile"}


class QueryError(ValueError):
    """An unknown query or a wrong set of parameters."""


@dataclass(frozen=True)
class QueryInfo:
    name: str
    description: str
    params: list[str]
    sql: str


def query_names() -> list[str]:
    folder = resources.files("distillguard.sql").joinpath("queries")
    return sorted(entry.name[:-4] for entry in folder.iterdir() if entry.name.endswith(".sql"))


def _code(sql: str) -> str:
    """The SQL without comments and string literals (where ``$`` is no parameter)."""
    without_comments = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return re.sub(r"'(?:[^']|'')*'", "''", without_comments)


def query_info(name: str) -> QueryInfo:
    if name.endswith(".sql"):
        name = name[:-4]
    if name not in query_names():
        raise QueryError(f"no query named {name!r}; known: {', '.join(query_names())}")
    sql = sql_text(f"queries/{name}.sql")
    for token, use in FEATURE_LISTS.items():
        if token in sql:
            sql = sql.replace(token, feature_columns(use))
    header = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        header.append(line[2:].strip())
    description = " ".join(h for h in header if not h.lower().startswith("parameters:")).strip()
    params = sorted(set(PARAM.findall(_code(sql))))
    return QueryInfo(name=name, description=description, params=params, sql=sql)


def run_query(store: Store, name: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
    """The result of query ``name`` with ``params`` bound."""
    info = query_info(name)
    params = dict(params or {})
    missing = [p for p in info.params if p not in params]
    unknown = [p for p in params if p not in info.params]
    if missing or unknown:
        wanted = ", ".join(f"${p}" for p in info.params) or "none"
        problems = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"unknown {', '.join(unknown)}"] if unknown else [])
        raise QueryError(f"query {info.name} takes parameters: {wanted} ({'; '.join(problems)})")
    return store.frame(info.sql, params or None)


#: Where the subject of a query may appear: (what it is, the relations that name it, their column).
SUBJECT_LOOKUPS = {
    "account_id": ("account", ("events", "account_features", "accounts"), "account_id"),
    "ring_id": ("ring", ("rings",), "ring_id"),
}


def missing_subject(store: Store, params: dict[str, Any]) -> str | None:
    """Why a query about an account or ring has no rows when that account or ring is in none of
    the relations that name it (a typo, an id from another database); None when it is in one, or
    when none of those relations exists yet (nothing to say then)."""
    present = set(analyst_relations(store))
    for param, (kind, relations, column) in SUBJECT_LOOKUPS.items():
        searched = [name for name in relations if name in present]
        if param not in params or not searched:
            continue
        sql = " UNION ALL ".join(f"SELECT 1 FROM {name} WHERE {column} = $value" for name in searched) + " LIMIT 1"
        if store.frame(sql, {"value": params[param]}).height == 0:
            return f"no {kind} {params[param]!r} in this database"
    return None


def analyst_relations(store: Store) -> list[str]:
    """The tables and views an analyst session can query (for hints)."""
    try:
        frame = store.frame(
            "SELECT DISTINCT table_name FROM duckdb_tables() WHERE NOT internal AND NOT temporary "
            "UNION SELECT DISTINCT view_name FROM duckdb_views() WHERE NOT internal AND NOT temporary ORDER BY 1"
        )
    except duckdb.Error:
        return []
    return frame.to_series().to_list() if frame.height else []


def explain_sql_error(exc: BaseException, relations: list[str] | None = None) -> str:
    """One line for an error of analyst SQL: what DuckDB said (without its caret drawing) and a hint.

    >>> explain_sql_error(duckdb.ParserException('Parser Error: syntax error at or near "SELEC"\\n\\nLINE 1: SELEC 1\\n        ^^^^^'))
    'syntax error: Parser Error: syntax error at or near "SELEC" (hint: check the SQL near the quoted word; `distillguard query` lists ready-made queries)'
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    head = lines[0] if lines else type(exc).__name__
    # DuckDB adds "Did you mean ...", "Candidate bindings: ..." and a "LINE 1: ..." / "^^^" drawing.
    extra = [line for line in lines[1:] if not line.startswith("LINE ") and set(line) - set("^ ")]
    said = " ".join([head, *extra])
    lowered = said.lower()
    if isinstance(exc, duckdb.PermissionException) or "disabled by configuration" in lowered or "disabled through configuration" in lowered \
            or "in-memory database in read-only mode" in lowered or "unique file handle conflict" in lowered:
        return (f"refused: the analyst session cannot read or write files, reach the network, attach databases or "
                f"install/load extensions ({said}) (hint: query the relations in place; `distillguard query NAME --format csv` "
                "prints a result you can redirect)")
    # (DROP TABLE of `events`, a view over the event lake, fails on its type before the read-only check)
    if "read-only mode" in lowered or "read-only database" in lowered or "trying to drop type" in lowered:
        return (f"refused: the analyst data is read-only ({said}) (hint: keep scratch results in CREATE TEMP TABLE; "
                "verdicts are recorded with `distillguard review`)")
    if "configuration has been locked" in lowered:
        return f"refused: the analyst session's settings are locked ({said}) (hint: query the relations as they are; SET is not needed)"
    if isinstance(exc, duckdb.ParserException):
        return f"syntax error: {said} (hint: check the SQL near the quoted word; `distillguard query` lists ready-made queries)"
    if isinstance(exc, duckdb.CatalogException):
        known = f"relations: {', '.join(relations)}; " if relations else ""
        return f"{said} (hint: {known}SHOW TABLES lists them, DESCRIBE <relation> lists a relation's columns)"
    if isinstance(exc, duckdb.BinderException):
        return f"{said} (hint: DESCRIBE <relation> lists a relation's columns)"
    if isinstance(exc, duckdb.InvalidInputException) and "parameter" in lowered:
        return f"{said} (hint: bind each $name the SQL uses with --param name=value)"
    return f"{said} (hint: SHOW TABLES lists the relations; `distillguard query` lists ready-made queries)"
