"""The docs cannot drift: README's generated blocks match the code, and every number has a source.

On a failure: ``python docs/generate.py`` rewrites the README's generated blocks; review the
diff and commit it.
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from dataclasses import fields
from pathlib import Path
from types import ModuleType

import pytest

from analyzer.diagnostics import REGISTRY
from analyzer.settings import AdviceLimits, Thresholds

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_generate", ROOT / "docs" / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def test_readme_generated_blocks_are_up_to_date() -> None:
    diff = gen.check()
    if diff:
        pytest.fail(
            "README.md is stale: run `python docs/generate.py`, review and commit.\n"
            + diff[:20_000],
            pytrace=False,
        )


def test_a_stale_threshold_in_the_readme_is_caught() -> None:
    """The check can fail: an old value written into the README is put back to the code's."""
    line = f"`throughput_drop` = {gen.fmt(Thresholds().throughput_drop)}"
    assert line in README
    stale = README.replace(line, "`throughput_drop` = 0.6")
    assert gen.render(stale) == gen.render(README) != stale


def test_a_block_without_its_end_marker_is_an_error() -> None:
    with pytest.raises(ValueError, match="missing"):
        gen.render(README.replace("<!-- end: advice -->", ""))


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_each_diagnostic_is_documented(code: str) -> None:
    spec = REGISTRY[code]
    assert spec.func.__name__ == code
    assert len(spec.doc) > 20
    assert len((spec.func.__doc__ or "").strip().splitlines()) >= 3  # the math, not just a title
    assert f"### `{code}`" in README


def test_no_signal_is_documented() -> None:
    assert "### `no_signal`" in README


def test_thresholds_read_are_found_in_the_code() -> None:
    """Through helpers too: ``_loss(run, t)`` reads ``min_points`` for the loss diagnostics."""
    assert {"throughput_drop", "throughput_warmup_points"} <= set(
        gen.thresholds_read(REGISTRY["throughput_drop"].func)
    )
    assert "min_points" in gen.thresholds_read(REGISTRY["loss_oscillation"].func)
    used = gen.readers()
    unread = [name for name, by in used.items() if not by]
    assert not unread, f"thresholds nothing reads: {unread}"


def test_every_threshold_has_a_source() -> None:
    """Each field has a source: its metadata, its own comment, or the comment block above."""
    src = gen.sources()
    assert set(src) == set(Thresholds.__dataclass_fields__)
    for name, text in src.items():
        assert len(text) > 10, name
    # Fields introduced by one comment block (or given one text) share it.
    assert src["layer_ratio_vanishing"] == src["layer_ratio_exploding"]
    assert "AutoTrainer" in src["first_layer_norm_vanishing"]


def test_sources_read_field_metadata_before_comments(tmp_path: Path) -> None:
    """Both ways of writing a source work: ``field(metadata={"source": ...})`` and comments."""
    path = tmp_path / "fake_settings.py"
    path.write_text(
        textwrap.dedent(
            """
            from dataclasses import dataclass, field

            @dataclass(frozen=True)
            class Limits:
                # --- group
                # Shared by the two fields below it.
                a: float = 1.0
                b: int = 2
                c: float = 3.0  # its own comment
                d: float = field(default=4.0, metadata={"source": "from  metadata"})
                # a comment, then metadata: the metadata wins
                e: float = field(
                    default=5.0,
                    metadata={"source": "metadata again"},
                )
            """
        )
    )
    spec = importlib.util.spec_from_file_location("fake_settings", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fake_settings"] = module
    try:
        spec.loader.exec_module(module)
        src = gen.sources(module.Limits, module)
    finally:
        del sys.modules["fake_settings"]
    assert src == {
        "a": "Shared by the two fields below it.",
        "b": "Shared by the two fields below it.",
        "c": "its own comment",
        "d": "from metadata",
        "e": "metadata again",
    }


def test_placeholders_in_docstrings_take_the_defaults() -> None:
    drop = gen.fmt(Thresholds().throughput_drop)
    assert (
        gen.fill("at most {throughput_drop}x, {unknown} stays")
        == f"at most {drop}x, {{unknown}} stays"
    )
    assert [gen.fmt(v) for v in (1e6, 1e-3, 1e-7, 0.08, 128, 2.0)] == [
        "1e6",
        "1e-3",
        "1e-7",
        "0.08",
        "128",
        "2",
    ]


def test_advice_table_lists_every_rule_with_the_codes_it_reads() -> None:
    from analyzer.advice import ADVICE_RULES, decay_on_plateau

    for rule in ADVICE_RULES:
        assert f"| `{rule.__name__}` |" in README
        assert gen.codes_read(rule), rule.__name__  # every rule reacts to some finding
    assert gen.codes_read(decay_on_plateau) == ["plateau"]


def test_every_threshold_says_where_it_comes_from_as_data() -> None:
    # The source is field metadata (printed by `dlreport thresholds`), not a comment: a field
    # added the old way, with only a comment, fails here.
    for cls in (Thresholds, AdviceLimits):
        for f in fields(cls):
            assert len(f.metadata.get("source", "")) > 20, f.name
            assert "minimum" in f.metadata, f.name
