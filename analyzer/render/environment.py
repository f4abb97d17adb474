"""The one jinja environment of every text renderer, and its filters.

Formatting lives here and nowhere else: a number, a step, a duration, a severity's CSS class,
text made inert in Markdown. ``*.html.j2`` templates are autoescaped, since run and tag names
come from user files; an undefined name in a template is an error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from .safetext import DISPLAY_LIMIT, shorten, visible

SEVERITIES = ("error", "warning", "info")


def template_dirs() -> list[Path]:
    """Where the templates are: inside the wheel (force-included) first, then the checkout."""
    here = Path(__file__).resolve().parent.parent
    return [p for p in (here / "templates", here.parent / "templates") if p.is_dir()]


def fmt_num(value: object) -> str:
    """A number for reading: 4 significant digits, thousands separators, short exponents."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        a = abs(v)
        if a == 0:
            return "0"
        if 1e3 <= a < 1e9:
            return f"{v:,.0f}"
        if 1e-3 <= a < 1e3:
            return f"{v:.4g}"
        mantissa, _, exponent = f"{v:.3g}".partition("e")
        return f"{mantissa}e{int(exponent)}" if exponent else mantissa  # 0.0009996 -> "0.001"
    return str(value)


def fmt_step(value: object) -> str:
    """A step (or a count of steps): an integer with thousands separators."""
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and value == int(value):
        value = int(value)
    return fmt_num(value)


def fmt_steps(steps: Sequence[int] | None) -> str:
    """A finding's step range: "steps 4,200–4,400", "step 10", or "whole run"."""
    if not steps:
        return "whole run"
    a, b = steps
    return f"step {fmt_step(a)}" if a == b else f"steps {fmt_step(a)}–{fmt_step(b)}"


def fmt_duration(seconds: object) -> str:
    """Seconds for reading: "42.1 s", "29 min 12 s", "3 h 05 min", "2 d 4 h"."""
    if not isinstance(seconds, (int, float, np.integer, np.floating)) or isinstance(seconds, bool):
        return fmt_num(seconds)
    s = float(seconds)
    if not math.isfinite(s):
        return fmt_num(s)
    if s < 0.01:
        return "< 0.01 s" if s > 0 else "0 s"
    if s < 60:
        return f"{s:.3g} s"
    whole = round(s)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    if whole < 86400:
        return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
    return f"{whole // 86400} d {whole % 86400 // 3600} h"


def fmt_pct(value: object) -> str:
    """A share (0..1) as a percentage."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return fmt_num(value)
    return f"{100 * value:.0f}%" if abs(value) >= 0.01 or value == 0 else f"{100 * value:.2g}%"


def fmt_change(value: object) -> str:
    """A relative change with its sign: "+17.3%", "−4.1%" (a true minus sign)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return fmt_num(value)
    text = f"{100 * value:+.1f}%" if abs(value) >= 0.001 or value == 0 else f"{100 * value:+.2g}%"
    return text.replace("-", "−")


def fmt_value(value: object, key: str) -> str:
    """A summary or evidence value, formatted by what its key says it is."""
    if isinstance(value, str) or value is None:
        return fmt_num(value)
    if key.startswith("still_"):
        return "yes" if value else "no"
    if key == "steps" or key.endswith(("_step", "_steps")) or key.startswith("steps_after"):
        return fmt_step(value)
    if key.startswith("share") or key.endswith("_share"):
        return fmt_pct(value)
    if (key.endswith("_s") and not key.endswith("per_s")) or "seconds" in key:
        return fmt_duration(value)
    return fmt_num(value)


_LABELS = {
    "steps": "last step",
    "steps_per_s": "steps/s",
    "steps_per_s_trend": "steps/s, end vs start",
    "best_val_step": "best validation step",
    "steps_after_best_val": "steps after the best validation score",
    "share_after_best_val": "share of the run after it",
    "projected_train_loss_2x_steps": "projected train loss with 2× the steps",
    "still_improving": "still improving",
    "convergence_fit_r2": "convergence fit R²",
}


def label(key: str) -> str:
    """A snake_case key as words: "final_train_loss" -> "final train loss"."""
    if key in _LABELS:
        return _LABELS[key]
    key = re.sub(r"_s$", "", key).replace("wall_seconds", "wall_time")  # the value has units
    return key.replace("_", " ")


def severity_class(status: str) -> str:
    """The CSS class of a status or severity: one vocabulary (ARCHITECTURE 3.9)."""
    return f"sev--{status}"


# CommonMark: any ASCII punctuation may be backslash-escaped. These are the ones that start
# emphasis, links, tables, HTML, code, headings or entities inside a line.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#~&!])")


def md_escape(value: object) -> str:
    """Text made inert in GitHub Markdown: specials backslash-escaped, one line."""
    text = "" if value is None else str(value)
    text = visible(re.sub(r"[\r\n\t]+", " ", text))
    return _MD_SPECIAL.sub(r"\\\1", text)


def _bounded(value: object) -> object:
    """Every ``{{ value }}`` of a template: text longer than the display limit is cut, so a page
    stays small whatever the names in the logs. Markup (a macro's or ``caller()``'s output,
    whose own ``{{ }}`` were cut already) and the charts' data URIs are kept whole."""
    if (
        isinstance(value, str)
        and len(value) > DISPLAY_LIMIT
        and not isinstance(value, Markup)
        and not value.startswith("data:")
    ):
        return shorten(value)
    return value


_BREAK_AFTER = re.compile(r"([/_.=-])")


def breakable(value: object) -> Markup:
    """A tag or run name, escaped, that may wrap after ``/ _ . = -`` (``<wbr>``) only.

    A narrow screen then wraps ``metrics/accuracy`` at the slash instead of letter by letter
    (what ``overflow-wrap: anywhere`` does to a table column).
    """
    # Escaping first: the characters broken after never occur inside an HTML entity.
    # Cut first: the result is Markup, which the display bound of every {{ }} lets through.
    text = shorten("" if value is None else str(value))
    return Markup(_BREAK_AFTER.sub(r"\1<wbr>", str(escape(text))))


# A text the run logged (Hugging Face's training arguments, a model configuration) is read
# whole, unlike a name repeated in every table: a larger bound, still one that keeps the page
# small whatever the logs hold.
LOGGED_TEXT_LIMIT = 20_000


def logged_text(value: object) -> Markup:
    """A text summary of the run, escaped, cut at :data:`LOGGED_TEXT_LIMIT` characters."""
    return Markup(escape(shorten("" if value is None else str(value), LOGGED_TEXT_LIMIT)))


def build_environment() -> Environment:
    """The one jinja environment: HTML templates autoescaped, undefined names an error."""
    env = Environment(
        loader=FileSystemLoader(template_dirs()),
        # select_autoescape matches the name's *ending*: "report.md.j2" is not escaped.
        autoescape=select_autoescape(("html", "html.j2")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_bounded,
    )
    env.filters.update(
        fmt_num=fmt_num,
        fmt_step=fmt_step,
        fmt_steps=fmt_steps,
        fmt_duration=fmt_duration,
        fmt_pct=fmt_pct,
        fmt_change=fmt_change,
        fmt_value=fmt_value,
        label=label,
        severity_class=severity_class,
        md_escape=md_escape,
        logged_text=logged_text,
        breakable=breakable,
    )
    return env


ENV = build_environment()
