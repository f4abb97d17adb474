"""Hyperparameters: the hparams plugin's ``session_start_info``, and Lightning's
``hparams.yaml``, both flattened to numbers, strings and bools."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .discover import SpecialFile, open_regular
from .events import Problem
from .text import text_of_path

# Limits on Lightning's hparams.yaml (SECURITY.md): a real one is a few kB, a few levels deep.
YAML_MAX_BYTES = 1 << 20  # a larger file is not read
YAML_MAX_DEPTH = 50  # nesting levels; PyYAML's composer recurses per level
YAML_MAX_VALUES = 10_000  # values and mappings walked when flattening
_SHOWN_CHARS = 200  # a list or other value kept as text, cut to this length


def read_hparams_yaml(path: str) -> tuple[dict[str, float | str | bool], Problem | None]:
    """Lightning's ``hparams.yaml``, flattened (``model.lr``) to numbers, strings and bools.

    Read with ``yaml.safe_load`` rules: plain values only, never objects (files with python
    tags, which old Lightning versions wrote, are reported and skipped). Aliases are allowed
    (``yaml.dump`` writes them for a value used twice), but a few hundred bytes of nested
    aliases expand to billions of paths, so the flattening stops after
    ``YAML_MAX_VALUES`` values, with a note; nesting deeper than ``YAML_MAX_DEPTH`` is refused.
    """
    import yaml  # imported here: only Lightning logs need it

    shown = text_of_path(path)  # in messages
    try:
        with open_regular(path) as f:
            text = f.read(YAML_MAX_BYTES + 1)
        if len(text) > YAML_MAX_BYTES:  # its first MiB alone could parse, to wrong values
            msg = f"hparams.yaml not read (larger than {YAML_MAX_BYTES} bytes)"
            return {}, Problem(shown, "malformed", msg)
        data = yaml.load(text, Loader=_bounded_loader(yaml))  # a SafeLoader: plain values
    except SpecialFile as exc:
        return {}, Problem(shown, "special_file", f"hparams.yaml is {exc}")
    except (OSError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return {}, Problem(shown, "malformed", f"hparams.yaml not readable ({first})")
    out: dict[str, float | str | bool] = {}
    budget = [YAML_MAX_VALUES]

    def flatten(value: object, prefix: str) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            return
        if isinstance(value, dict):
            for k, v in value.items():
                flatten(v, f"{prefix}.{k}" if prefix else str(k))
        elif isinstance(value, (bool, str)):
            out[prefix] = value
        elif isinstance(value, (int, float)):
            out[prefix] = float(value)
        elif value is not None:
            out[prefix] = _short_text(value)

    flatten(data, "")
    if budget[0] < 0:
        msg = (
            f"hparams.yaml holds more than {YAML_MAX_VALUES} values (nested aliases?); "
            f"the first {len(out)} were kept"
        )
        return out, Problem(shown, "malformed", msg)
    return out, None


def _bounded_loader(yaml: Any) -> type:
    """A ``SafeLoader`` that refuses nesting deeper than ``YAML_MAX_DEPTH`` (a RecursionError
    in PyYAML's composer otherwise)."""

    class BoundedLoader(yaml.SafeLoader):  # type: ignore[misc,name-defined]
        depth = 0

        def compose_node(self, parent: object, index: object) -> object:
            self.depth += 1
            try:
                if self.depth > YAML_MAX_DEPTH:
                    raise yaml.YAMLError(f"nested deeper than {YAML_MAX_DEPTH} levels")
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return BoundedLoader


def _short_text(value: object) -> str:
    """``value`` as text of at most about ``_SHOWN_CHARS`` characters, built piece by piece:
    ``str()`` of a list of aliased lists would build all of its expansion first."""
    parts: list[str] = []
    size = 0
    stack: list[object] = [value]
    while stack and size <= _SHOWN_CHARS:
        item = stack.pop()
        if isinstance(item, _Literal):
            piece = item.text
        elif isinstance(item, (list, tuple)):
            stack.append(_Literal("]"))
            for i, element in enumerate(reversed(item)):
                stack.append(element)
                if i < len(item) - 1:
                    stack.append(_Literal(", "))
            piece = "["
        elif isinstance(item, dict):
            piece = "{...}"
        else:
            piece = repr(item) if isinstance(item, str) else str(item)
        parts.append(piece)
        size += len(piece)
    text = "".join(parts)
    return text if not stack and size <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "..."


@dataclass(frozen=True, slots=True)
class _Literal:
    text: str


def decode_hparams(content: bytes) -> dict[str, float | str | bool]:
    """The hyperparameters in an hparams plugin's ``session_start_info``."""
    from tensorboard.plugins.hparams import plugin_data_pb2

    try:
        data = plugin_data_pb2.HParamsPluginData.FromString(content)
    except Exception:  # a damaged content is simply not hparams
        return {}
    if not data.HasField("session_start_info"):
        return {}
    out: dict[str, float | str | bool] = {}
    for name, value in data.session_start_info.hparams.items():
        kind = value.WhichOneof("kind")
        if kind == "number_value":
            out[name] = float(value.number_value)
        elif kind == "string_value":
            out[name] = value.string_value
        elif kind == "bool_value":
            out[name] = bool(value.bool_value)
    return out
