"""Differences between two OpenAPI documents that a client can feel: which paths and methods exist, and what a
request body may hold (its properties, their types and enums, its required properties).

Each difference is one line, e.g. `POST /runs: metadata: type ours null,object official object`, so a test can
hold an allow-list of the deliberate ones.
"""

from __future__ import annotations

from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")
ANY = "any"
# A union of every JSON type is "anything", however it is written.
_ALL_TYPES = {"array", "boolean", "null", "number", "object", "string"}


def _resolve(spec: dict, schema: Any, seen: tuple = ()) -> Any:
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return {}
        return _resolve(spec, spec["components"]["schemas"][name], (*seen, name))
    if "allOf" in schema:
        merged: dict = {"properties": {}, "required": []}
        for part in schema["allOf"]:
            resolved = _resolve(spec, part, seen)
            merged["properties"].update(resolved.get("properties", {}))
            merged["required"] += resolved.get("required", [])
            merged.update({k: v for k, v in resolved.items() if k not in ("properties", "required")})
        return {**merged, **{k: v for k, v in schema.items() if k != "allOf"}}
    return schema


def _types(spec: dict, schema: Any) -> set[str]:
    schema = _resolve(spec, schema)
    if not isinstance(schema, dict):
        return {ANY}
    variants = schema.get("anyOf") or schema.get("oneOf")
    if variants:
        found = set().union(*(_types(spec, variant) for variant in variants))
    elif "type" in schema:
        declared = schema["type"]
        found = set(declared) if isinstance(declared, list) else {declared}
    elif "enum" in schema:
        found = {"string"}
    else:
        return {ANY}
    if schema.get("nullable") or None in (schema.get("enum") or ()):
        found.add("null")
    found.discard("integer") if "number" in found else None
    return {ANY} if ANY in found or found >= _ALL_TYPES else found


def _enum(spec: dict, schema: Any) -> set[str]:
    schema = _resolve(spec, schema)
    if not isinstance(schema, dict):
        return set()
    values = {str(value) for value in schema.get("enum") or () if value is not None}
    for variant in schema.get("anyOf") or schema.get("oneOf") or ():
        values |= _enum(spec, variant)
    return values


def _items(spec: dict, schema: Any) -> Any:
    schema = _resolve(spec, schema)
    if not isinstance(schema, dict):
        return None
    if "items" in schema:
        return schema["items"]
    for variant in schema.get("anyOf") or schema.get("oneOf") or ():
        found = _items(spec, variant)
        if found is not None:
            return found
    return None


def describe(spec: dict, schema: Any, depth: int = 0) -> str:
    """`types[enum]<items>`, e.g. `array<string[a, b]>` or `null,object`."""
    text = ",".join(sorted(_types(spec, schema)))
    if enum := _enum(spec, schema):
        text += "[" + ", ".join(sorted(enum)) + "]"
    items = _items(spec, schema)
    if items is not None and depth < 2:
        text += f"<{describe(spec, items, depth + 1)}>"
    return text


def _body(spec: dict, operation: dict) -> dict | None:
    content = (operation.get("requestBody") or {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return None if schema is None else _resolve(spec, schema)


def _body_differences(where: str, ours: dict, official: dict, ours_spec: dict, official_spec: dict) -> list[str]:
    found = []
    ours_props, official_props = ours.get("properties", {}), official.get("properties", {})
    for name in sorted(set(ours_props) | set(official_props)):
        if name not in official_props:
            found.append(f"{where}: property {name} only in ours")
        elif name not in ours_props:
            found.append(f"{where}: property {name} only in official")
        else:
            a, b = describe(ours_spec, ours_props[name]), describe(official_spec, official_props[name])
            if a != b:
                found.append(f"{where}: {name}: type ours {a} official {b}")
    ours_required, official_required = sorted(ours.get("required", [])), sorted(official.get("required", []))
    if ours_required != official_required:
        found.append(f"{where}: required ours {ours_required} official {official_required}")
    if "properties" not in ours and "properties" not in official:
        a, b = describe(ours_spec, ours), describe(official_spec, official)
        if a != b:
            found.append(f"{where}: body type ours {a} official {b}")
    return found


def differences(ours: dict, official: dict) -> list[str]:
    """Every difference, sorted by path then method."""
    found: list[str] = []
    for path in sorted(set(ours["paths"]) | set(official["paths"])):
        ours_ops, official_ops = ours["paths"].get(path, {}), official["paths"].get(path, {})
        for method in METHODS:
            where = f"{method.upper()} {path}"
            if method not in official_ops:
                found += [f"{where}: only in ours"] if method in ours_ops else []
                continue
            if method not in ours_ops:
                found.append(f"{where}: only in official")
                continue
            ours_body, official_body = _body(ours, ours_ops[method]), _body(official, official_ops[method])
            if (ours_body is None) != (official_body is None):
                found.append(f"{where}: request body only in {'ours' if official_body is None else 'official'}")
            elif ours_body is not None:
                found += _body_differences(where, ours_body, official_body, ours, official)
    return found
