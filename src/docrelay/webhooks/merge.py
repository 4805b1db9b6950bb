"""Rendering and validation of web-notification templates with ``[Field Name]`` tags.

Rendering is a single pass: the template is cut into literal text and tags
once, and each tag's value is escaped for its position and written out
without being scanned again, so event data that looks like a tag stays text.

Where a tag counts as a tag depends on the content type:

- ``application/json``: only inside JSON string literals, and the value gets
  JSON string escaping. Brackets elsewhere are JSON arrays.
- ``application/xml`` and ``text/xml``: in text and attribute values with
  entity escaping, and in CDATA sections with ``]]>`` split. Characters that
  XML 1.0 forbids are removed. Comments and processing instructions are left
  alone.
- ``text/plain``: anywhere, without escaping.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import xml.etree.ElementTree
from collections.abc import Mapping

import defusedxml
import defusedxml.ElementTree

from docrelay.errors import ValidationError
from docrelay.webhooks.merge_fields import (
    ACCESS_CODE_PARAMETER,
    CATALOGUE,
    MergeField,
    MergeSource,
    SignatoryValues,
    build_merge_values,
    catalogue_tag_names,
    find_field,
    sample_merge_source,
)

__all__ = [
    "CATALOGUE",
    "CONTENT_TYPES",
    "MergeField",
    "MergeSource",
    "SignatoryValues",
    "build_merge_values",
    "find_field",
    "render",
    "render_headers",
    "sample_merge_source",
    "validate_design_templates",
]

CONTENT_TYPES = ("application/json", "application/xml", "text/xml", "text/plain")

TAG = re.compile(r"\[([^\W\d_](?:[\w .'/#()-]{0,98}[\w)])?)\]")
"""A tag: a letter, then letters, digits, spaces and ``_ . ' / # ( ) -``, in brackets."""

_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "soapaction",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)
_HEADER_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
_XML_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_XML_DECLARED_ENCODING = re.compile(r"<\?xml[^>]*\bencoding\s*=\s*[\"']([^\"']+)[\"']")
_HOSTILE_SAMPLE = "Q\"'\\<&>]]>\n\r\t\x01\u2028[Document ID]é"


@dataclasses.dataclass(frozen=True, slots=True)
class _Tag:
    start: int
    end: int
    name: str
    context: str
    """One of ``json``, ``xml_text``, ``xml_attribute``, ``cdata``, ``plain``, ``literal``."""


def render(template: str, values: Mapping[str, str], content_type: str) -> str:
    """Replace every tag in ``template`` with its value escaped for ``content_type``.

    Tags without a value render empty. Tags the content type does not
    recognise where they stand (e.g. outside JSON strings) stay as they are.
    """
    parts: list[str] = []
    position = 0
    for tag in _scan(template, _base_type(content_type)):
        if tag.context == "literal":
            continue
        parts.append(template[position : tag.start])
        parts.append(_escape(values.get(tag.name, ""), tag.context))
        position = tag.end
    parts.append(template[position:])
    return "".join(parts)


def render_headers(headers: Mapping[str, str], values: Mapping[str, str]) -> dict[str, str]:
    """Render header value templates without escaping.

    Raises :class:`ValidationError` naming ``headers.<Name>`` when a rendered
    value contains a line break or another control character, because such a
    value could inject headers.
    """
    rendered: dict[str, str] = {}
    for name, template in headers.items():
        value = TAG.sub(lambda match: values.get(match.group(1), ""), template)
        if _HEADER_FORBIDDEN.search(value):
            raise ValidationError.for_field(
                f"headers.{name}",
                "the rendered value contains a line break or control character; "
                "remove it from the template or from the merged data",
            )
        rendered[name] = value
    return rendered


def validate_design_templates(
    content_type: str,
    body_template: str,
    headers: Mapping[str, str],
    allowed_events: list[str] | None,
    parameter_names: set[str] | None,
) -> None:
    """Check a design's body and header templates before the design is saved.

    ``parameter_names`` are the document parameters the design may use (for
    example every parameter of the account's templates); ``None`` allows
    none. ``allowed_events`` ``None`` means the design may be attached to any
    event, so event-specific tags are rejected. Raises
    :class:`ValidationError` listing every problem with its field.
    """
    errors: list[tuple[str, str]] = []
    if content_type not in CONTENT_TYPES:
        errors.append(("content_type", f"must be one of {', '.join(CONTENT_TYPES)}"))
        raise ValidationError(errors=errors)

    parameters = {
        name for name in parameter_names or () if not ACCESS_CODE_PARAMETER.fullmatch(name)
    }
    events = None if allowed_events is None else set(allowed_events)
    for tag in _scan(body_template, content_type):
        message = _check_tag(tag, events, parameters, in_header=False)
        if message:
            errors.append(("body_template", message))
    if not errors:
        errors.extend(_check_body_syntax(content_type, body_template, parameters))

    for name, template in headers.items():
        errors.extend(_check_header(name, template, events, parameters))

    if errors:
        raise ValidationError(errors=errors)


def _check_tag(
    tag: _Tag, events: set[str] | None, parameters: set[str], *, in_header: bool
) -> str | None:
    field = find_field(tag.name)
    if tag.context == "literal":
        if field is None and tag.name not in parameters:
            return None
        return (
            f'merge field [{tag.name}] must stand inside a JSON string literal, e.g. "[{tag.name}]"'
        )
    if field is None:
        if tag.name in parameters:
            return None
        return _unknown_tag_message(tag.name, parameters)
    if in_header and not field.in_headers:
        return f"merge field [{tag.name}] is too large for a header; use it in the body"
    if field.events is None:
        return None

    available = ", ".join(sorted(field.events))
    if events is None:
        return (
            f"merge field [{tag.name}] is only available for {available}; "
            "restrict allowed_events to those events"
        )
    outside = sorted(events - field.events)
    if outside:
        return (
            f"merge field [{tag.name}] is not available for {', '.join(outside)}; "
            f"it is only available for {available}"
        )
    return None


def _unknown_tag_message(name: str, parameters: set[str]) -> str:
    if ACCESS_CODE_PARAMETER.fullmatch(name):
        return f"merge field [{name}] is not available: access codes are never sent out"
    candidates = catalogue_tag_names() + sorted(parameters)
    close = difflib.get_close_matches(name, candidates, n=1)
    hint = f"; did you mean [{close[0]}]?" if close else ""
    return f"unknown merge field [{name}]{hint}"


def _check_body_syntax(
    content_type: str, body_template: str, parameters: set[str]
) -> list[tuple[str, str]]:
    if not body_template.strip() or content_type == "text/plain":
        return []

    sample = build_merge_values(sample_merge_source())
    sample.update({name: f"Sample {name}" for name in parameters if name not in sample})
    hostile = dict.fromkeys(catalogue_tag_names() + sorted(parameters), _HOSTILE_SAMPLE)
    for values in (sample, hostile):
        rendered = render(body_template, values, content_type)
        problem = _syntax_problem(content_type, rendered)
        if problem:
            return [("body_template", problem)]
    return []


def _syntax_problem(content_type: str, rendered: str) -> str | None:
    if content_type == "application/json":
        try:
            json.loads(rendered)
        except json.JSONDecodeError as exc:
            return f"is not valid JSON after merging sample data: {exc}"
        return None

    declared = _XML_DECLARED_ENCODING.search(rendered)
    if declared and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        return f"the XML declaration names encoding {declared.group(1)}, but bodies are UTF-8"
    try:
        defusedxml.ElementTree.fromstring(rendered.encode("utf-8"), forbid_dtd=True)
    except (xml.etree.ElementTree.ParseError, defusedxml.DefusedXmlException) as exc:
        return f"is not well-formed XML after merging sample data: {exc}"
    return None


def _check_header(
    name: str, template: str, events: set[str] | None, parameters: set[str]
) -> list[tuple[str, str]]:
    field = f"headers.{name}"
    if not _HEADER_NAME.fullmatch(name):
        return [(field, "is not a valid header name; use letters, digits and hyphens")]
    if name.lower() in _RESERVED_HEADERS:
        return [(field, "is set by DocRelay; use the design's own setting instead")]
    if _HEADER_FORBIDDEN.search(template):
        return [(field, "contains a line break or control character")]

    errors = []
    for match in TAG.finditer(template):
        tag = _Tag(match.start(), match.end(), match.group(1), "plain")
        message = _check_tag(tag, events, parameters, in_header=True)
        if message:
            errors.append((field, message))
    return errors


def _base_type(content_type: str) -> str:
    base = content_type.split(";", 1)[0].strip().lower()
    if base not in CONTENT_TYPES:
        raise ValueError(f"unsupported content type {content_type!r}")
    return base


def _scan(template: str, content_type: str) -> list[_Tag]:
    if content_type == "application/json":
        return _scan_json(template)
    if content_type in ("application/xml", "text/xml"):
        return _scan_xml(template)
    return [_Tag(m.start(), m.end(), m.group(1), "plain") for m in TAG.finditer(template)]


def _scan_json(template: str) -> list[_Tag]:
    """Find tags, marking those outside JSON string literals as ``literal``."""
    strings = _json_string_spans(template)
    tags = []
    for match in TAG.finditer(template):
        inside = any(start < match.start() and match.end() <= end for start, end in strings)
        context = "json" if inside else "literal"
        tags.append(_Tag(match.start(), match.end(), match.group(1), context))
    return tags


def _json_string_spans(template: str) -> list[tuple[int, int]]:
    """Return (opening quote, closing quote) offsets of every string literal."""
    spans = []
    index = 0
    while index < len(template):
        if template[index] != '"':
            index += 1
            continue
        start = index
        index += 1
        while index < len(template) and template[index] != '"':
            index += 2 if template[index] == "\\" else 1
        spans.append((start, index))
        index += 1
    return spans


_XML_SPECIAL = re.compile(r"<!--.*?(?:-->|\Z)|<\?.*?(?:\?>|\Z)|<!\[CDATA\[.*?(?:\]\]>|\Z)", re.S)


def _scan_xml(template: str) -> list[_Tag]:
    tags = []
    position = 0
    for special in _XML_SPECIAL.finditer(template):
        tags.extend(_scan_xml_markup(template, position, special.start()))
        if special.group().startswith("<![CDATA["):
            for match in TAG.finditer(template, special.start() + 9, special.end()):
                tags.append(_Tag(match.start(), match.end(), match.group(1), "cdata"))
        position = special.end()
    tags.extend(_scan_xml_markup(template, position, len(template)))
    return tags


def _scan_xml_markup(template: str, start: int, end: int) -> list[_Tag]:
    tags = []
    for match in TAG.finditer(template, start, end):
        # Inside a start tag (after "<", before ">") a tag can only be an attribute value.
        in_markup = template.rfind("<", start, match.start()) > template.rfind(
            ">", start, match.start()
        )
        context = "xml_attribute" if in_markup else "xml_text"
        tags.append(_Tag(match.start(), match.end(), match.group(1), context))
    return tags


def _escape(value: str, context: str) -> str:
    value = _SURROGATE.sub("\ufffd", value)
    if context == "json":
        escaped = json.dumps(value, ensure_ascii=False)[1:-1]
        # Valid JSON, but these two end a line in JavaScript source.
        return escaped.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    if context in ("xml_text", "xml_attribute"):
        return _escape_xml(value, attribute=context == "xml_attribute")
    if context == "cdata":
        return _XML_FORBIDDEN.sub("", value).replace("]]>", "]]]]><![CDATA[>")
    return value


def _escape_xml(value: str, *, attribute: bool) -> str:
    value = _XML_FORBIDDEN.sub("", value)
    value = (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
    )
    # Parsers turn a raw CR into LF, and tabs and newlines in attributes into
    # spaces, so character references keep the value intact.
    value = value.replace("\r", "&#13;")
    if attribute:
        value = value.replace("\n", "&#10;").replace("\t", "&#9;")
    return value
