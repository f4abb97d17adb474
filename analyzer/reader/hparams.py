"""Hyperparameters: the hparams plugin's ``session_start_info``, and Lightning's
``hparams.yaml``, both flattened to numbers, strings and bools."""

from __future__ import annotations

import fsspec

from .events import Problem


def read_hparams_yaml(path: str) -> tuple[dict[str, float | str | bool], Problem | None]:
    """Lightning's ``hparams.yaml``, flattened (``model.lr``) to numbers, strings and bools.

    Read with ``yaml.safe_load``: it builds plain values only, never objects (files with
    python tags, which old Lightning versions wrote, are reported and skipped).
    """
    import yaml  # imported here: only Lightning logs need it

    try:
        with fsspec.open(path, "rb") as f:
            data = yaml.safe_load(f.read(1 << 20))
    except (OSError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return {}, Problem(path, "malformed", f"hparams.yaml not readable ({first})")
    out: dict[str, float | str | bool] = {}

    def flatten(value: object, prefix: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                flatten(v, f"{prefix}.{k}" if prefix else str(k))
        elif isinstance(value, (bool, str)):
            out[prefix] = value
        elif isinstance(value, (int, float)):
            out[prefix] = float(value)
        elif value is not None:
            out[prefix] = str(value)

    flatten(data, "")
    return out, None


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
