"""The JSON Schemas of docs/ (report and ``tags --json``), for the tests to validate against."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

DOCS = Path(__file__).resolve().parents[1] / "docs"


@cache
def validator(name: str) -> Draft202012Validator:
    schema = json.loads((DOCS / name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_report(data: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``data`` follows docs/report.schema.json."""
    validator("report.schema.json").validate(data)


def validate_tags(data: Any) -> None:
    """Raise unless ``data`` follows docs/tags.schema.json."""
    validator("tags.schema.json").validate(data)
