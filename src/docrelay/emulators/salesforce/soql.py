"""A SOQL subset: parser and evaluator.

Supported::

    SELECT COUNT() | field[, field...] FROM Object
      [WHERE condition] [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST][, ...]]
      [LIMIT n] [OFFSET n]

A field is a name or a parent relationship path one level deep (``Owner.Name``,
``Lead__r.Company``). Conditions combine comparisons (``= != <> < <= > >=``,
``LIKE``, ``IN (...)``, ``NOT IN (...)``) with ``AND``, ``OR``, ``NOT`` and
parentheses. Literals: quoted strings with backslash escapes, numbers,
``true``/``false``/``null``, dates (``2026-12-04``) and date-times
(``2026-12-04T10:00:00Z``). Text compares case-insensitively, and ids compare
on their 15-character core, as in Salesforce.

NOTE: aggregate functions other than ``COUNT()``, ``GROUP BY``, child
subqueries, semi-joins and date literals such as ``TODAY`` are not supported
and are rejected with ``MALFORMED_QUERY``.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from docrelay.emulators.salesforce.errors import ApiError, malformed_query
from docrelay.emulators.salesforce.validation import format_datetime, parse_datetime

_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<string>'(?:[^'\\]|\\.)*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<op><=|>=|!=|<>|=|<|>)
    | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)
_KEYWORDS = {
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC",
    "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET", "NULL", "TRUE", "FALSE", "COUNT",
}  # fmt: skip
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


@dataclasses.dataclass(frozen=True)
class Token:
    kind: str
    text: str
    value: Any = None


@dataclasses.dataclass
class Comparison:
    field: str
    operator: str
    value: Any


@dataclasses.dataclass
class Logical:
    operator: str
    operands: list[Any]


@dataclasses.dataclass
class OrderItem:
    field: str
    descending: bool
    nulls_last: bool


@dataclasses.dataclass
class Query:
    """A parsed query; ``fields`` is empty for ``COUNT()``."""

    object_name: str
    fields: list[str]
    count_only: bool
    where: Any = None
    order_by: list[OrderItem] = dataclasses.field(default_factory=list)
    limit: int | None = None
    offset: int = 0


def tokenize(text: str) -> list[Token]:
    tokens = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            snippet = text[position:].strip().split()[0] if text[position:].strip() else ""
            raise malformed_query(f"unexpected token: '{snippet}'")
        position = match.end()
        kind = match.lastgroup or ""
        raw = match.group(kind)
        tokens.append(_make_token(kind, raw))
    return tokens


def _make_token(kind: str, raw: str) -> Token:
    if kind == "string":
        return Token(
            "literal", raw, re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), raw[1:-1])
        )
    if kind == "number":
        return Token("literal", raw, float(raw) if "." in raw else int(raw))
    if kind == "date":
        return Token("literal", raw, raw)
    if kind == "datetime":
        return Token("literal", raw, format_datetime(parse_datetime(raw)))
    if kind == "name" and raw.upper() in _KEYWORDS:
        return Token("keyword", raw.upper())
    return Token(kind, raw)


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise malformed_query("unexpected end of query")
        self.index += 1
        return token

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        token = self.peek()
        if token is not None and token.kind == kind and (text is None or token.text == text):
            self.index += 1
            return token
        return None

    def expect(self, kind: str, text: str | None = None) -> Token:
        token = self.accept(kind, text)
        if token is None:
            found = self.peek()
            shown = found.text if found else "end of query"
            raise malformed_query(f"unexpected token: '{shown}', expected {text or kind}")
        return token

    def parse(self) -> Query:
        self.expect("keyword", "SELECT")
        fields, count_only = self.select_list()
        self.expect("keyword", "FROM")
        query = Query(self.expect("name").text, fields, count_only)
        if self.accept("keyword", "WHERE"):
            query.where = self.condition()
        if self.accept("keyword", "ORDER"):
            self.expect("keyword", "BY")
            query.order_by = self.order_list()
        if self.accept("keyword", "LIMIT"):
            query.limit = self.whole_number()
        if self.accept("keyword", "OFFSET"):
            query.offset = self.whole_number()
        leftover = self.peek()
        if leftover is not None:
            raise malformed_query(f"unexpected token: '{leftover.text}'")
        return query

    def select_list(self) -> tuple[list[str], bool]:
        if self.accept("keyword", "COUNT"):
            self.expect("punct", "(")
            self.expect("punct", ")")
            return [], True
        fields = [self.expect("name").text]
        while self.accept("punct", ","):
            fields.append(self.expect("name").text)
        return fields, False

    def whole_number(self) -> int:
        token = self.next()
        if token.kind != "literal" or not isinstance(token.value, int) or token.value < 0:
            raise malformed_query(f"unexpected token: '{token.text}', expected a whole number")
        return token.value

    def order_list(self) -> list[OrderItem]:
        items = []
        while True:
            field = self.expect("name").text
            descending = bool(self.accept("keyword", "DESC"))
            if not descending:
                self.accept("keyword", "ASC")
            nulls_last = descending
            if self.accept("keyword", "NULLS"):
                nulls_last = bool(self.accept("keyword", "LAST"))
                if not nulls_last:
                    self.expect("keyword", "FIRST")
            items.append(OrderItem(field, descending, nulls_last))
            if not self.accept("punct", ","):
                return items

    def condition(self) -> Any:
        operands = [self.conjunction()]
        while self.accept("keyword", "OR"):
            operands.append(self.conjunction())
        return operands[0] if len(operands) == 1 else Logical("OR", operands)

    def conjunction(self) -> Any:
        operands = [self.factor()]
        while self.accept("keyword", "AND"):
            operands.append(self.factor())
        return operands[0] if len(operands) == 1 else Logical("AND", operands)

    def factor(self) -> Any:
        if self.accept("keyword", "NOT"):
            return Logical("NOT", [self.factor()])
        if self.accept("punct", "("):
            inner = self.condition()
            self.expect("punct", ")")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        field = self.expect("name").text
        if self.accept("keyword", "NOT"):
            self.expect("keyword", "IN")
            return Comparison(field, "NOT IN", self.value_list())
        if self.accept("keyword", "IN"):
            return Comparison(field, "IN", self.value_list())
        if self.accept("keyword", "LIKE"):
            return Comparison(field, "LIKE", self.value())
        operator = self.expect("op").text
        return Comparison(field, "!=" if operator == "<>" else operator, self.value())

    def value_list(self) -> list[Any]:
        self.expect("punct", "(")
        values = [self.value()]
        while self.accept("punct", ","):
            values.append(self.value())
        self.expect("punct", ")")
        return values

    def value(self) -> Any:
        token = self.next()
        if token.kind == "literal":
            return token.value
        if token.kind == "keyword" and token.text in ("NULL", "TRUE", "FALSE"):
            return {"NULL": None, "TRUE": True, "FALSE": False}[token.text]
        raise malformed_query(f"unexpected token: '{token.text}', expected a literal value")


def parse(text: str) -> Query:
    """Parse SOQL text; raise ApiError ``MALFORMED_QUERY`` when it is outside the subset."""
    if not text or not text.strip():
        raise malformed_query("The query is empty; pass a SOQL statement in the q parameter")
    try:
        return _Parser(tokenize(text)).parse()
    except ApiError:
        raise
    except (ValueError, IndexError) as exc:
        raise malformed_query(f"unexpected token: {exc}") from exc
