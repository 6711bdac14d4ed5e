"""Named, documented analyst queries: the ``.sql`` files of ``sql/queries/``.

Each file starts with a comment saying what it answers and its ``Parameters:`` (``$name``).
:func:`run_query` binds the parameters (never pastes them into SQL) and checks that exactly
the query's parameters are given.

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

import polars as pl

from distillguard.store import Store, sql_text

PARAM = re.compile(r"\$([A-Za-z_]\w*)")


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
