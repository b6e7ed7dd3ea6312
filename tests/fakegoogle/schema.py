"""The fake's answers checked against Google's own discovery documents, so the fake cannot drift.

google-api-python-client ships the discovery documents of Calendar v3 and Gmail v1
(`googleapiclient/discovery_cache/documents/`); they name every method's response
schema and every field's type. `problems(method, body)` walks a JSON answer and lists
each field the schema does not know or whose type is wrong: strings, 64-bit integers
as decimal strings (`format: int64`/`uint64`), 32-bit integers as numbers, booleans,
RFC 3339 `date-time`s, arrays and nested `$ref`s. The fake runs it on every JSON
answer it sends and every JSON body it receives (batch parts included) and fails the
test at `stop()` when one drifted.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

DOCUMENTS = {"calendar": "calendar.v3.json", "gmail": "gmail.v1.json"}
DECIMAL = re.compile(r"-?[0-9]+")
BASE64 = re.compile(r"[A-Za-z0-9+/_-]*=*")
INT32 = (-(2**31), 2**31 - 1)
UINT32 = (0, 2**32 - 1)


@cache
def document(api: str) -> dict[str, Any]:
    """The discovery document the client itself builds its services from."""
    import googleapiclient

    folder = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
    return json.loads((folder / DOCUMENTS[api]).read_text(encoding="utf-8"))


@cache
def methods(api: str) -> dict[str, dict[str, Any]]:
    """Every method of the API by its discovery id (`calendar.events.list`, `gmail.users.messages.get`)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(resources: dict[str, Any]) -> None:
        for resource in resources.values():
            for method in (resource.get("methods") or {}).values():
                found[method["id"]] = method
            walk(resource.get("resources") or {})

    walk(document(api).get("resources") or {})
    return found


def response_schema(method_id: str) -> dict[str, Any] | None:
    """The schema of a method's answer; None when the method answers with no body (events.delete)."""
    api = method_id.split(".", 1)[0]
    method = methods(api).get(method_id)
    if method is None:
        raise KeyError(f"{method_id} is not a method of the {api} discovery document")
    return method.get("response")


def problems(method_id: str, body: Any) -> list[str]:
    """What in `body` (a decoded JSON answer of `method_id`) the discovery document does not allow."""
    api = method_id.split(".", 1)[0]
    schema = response_schema(method_id)
    if schema is None:
        return [f"{method_id}: answered with a body, but the method has no response schema"]
    found: list[str] = []
    _check(document(api)["schemas"], schema, body, method_id, found)
    return found


def request_problems(method_id: str, body: Any) -> list[str]:
    """What in a request body the client sent (an event to insert, a free/busy query) the schema does not allow.

    The client builds bodies from whatever syncd passes it, unchecked: a misspelt field
    would be dropped by Google without a word, and syncd would never know.
    """
    api = method_id.split(".", 1)[0]
    method = methods(api).get(method_id) or {}
    schema = method.get("request")
    if schema is None:
        return [f"{method_id}: sent a body, but the method takes none"]
    found: list[str] = []
    _check(document(api)["schemas"], schema, body, f"{method_id} request", found)
    return found


def _check(schemas: dict[str, Any], schema: dict[str, Any], value: Any, where: str, found: list[str]) -> None:
    if "$ref" in schema:
        schema = schemas[schema["$ref"]]
    kind = schema.get("type")
    if kind == "object":
        _check_object(schemas, schema, value, where, found)
    elif kind == "array":
        if not isinstance(value, list):
            found.append(f"{where}: expected an array, got {type(value).__name__}")
            return
        for index, item in enumerate(value):
            _check(schemas, schema.get("items") or {}, item, f"{where}[{index}]", found)
    elif kind == "string":
        _check_string(schema, value, where, found)
    elif kind == "integer":
        _check_integer(schema, value, where, found)
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            found.append(f"{where}: expected a number, got {value!r}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            found.append(f"{where}: expected a boolean, got {value!r}")
    elif kind not in (None, "any"):
        found.append(f"{where}: the schema's type {kind!r} is not understood here")


def _check_object(schemas: dict[str, Any], schema: dict[str, Any], value: Any, where: str, found: list[str]) -> None:
    if not isinstance(value, dict):
        found.append(f"{where}: expected an object, got {type(value).__name__}")
        return
    properties = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        if key in properties:
            _check(schemas, properties[key], item, f"{where}.{key}", found)
        elif extra is not None:
            _check(schemas, extra, item, f"{where}[{key!r}]", found)
        else:
            found.append(f"{where}.{key}: no such field in the discovery document")


def _check_string(schema: dict[str, Any], value: Any, where: str, found: list[str]) -> None:
    if not isinstance(value, str):
        found.append(f"{where}: expected a string, got {value!r}")
        return
    form = schema.get("format")
    if form in ("int64", "uint64") and not DECIMAL.fullmatch(value):
        found.append(f"{where}: expected a 64-bit integer as a decimal string, got {value!r}")
    elif form == "byte" and not BASE64.fullmatch(value):
        found.append(f"{where}: expected base64, got {value!r}")
    elif form == "date-time" and not _parses(datetime.fromisoformat, value.replace("Z", "+00:00")):
        found.append(f"{where}: expected an RFC 3339 date-time, got {value!r}")
    elif form == "date" and not _parses(date.fromisoformat, value):
        found.append(f"{where}: expected a date, got {value!r}")
    enum = schema.get("enum")
    if enum and value not in enum:
        found.append(f"{where}: {value!r} is not one of {enum}")


def _check_integer(schema: dict[str, Any], value: Any, where: str, found: list[str]) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        found.append(f"{where}: expected an integer, got {value!r}")
        return
    low, high = UINT32 if schema.get("format") == "uint32" else INT32
    if not low <= value <= high:
        found.append(f"{where}: {value} does not fit {schema.get('format', 'int32')}")


def _parses(parse: Any, text: str) -> bool:
    try:
        parse(text)
    except ValueError:
        return False
    return True
