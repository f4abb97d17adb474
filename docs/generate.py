"""Regenerate the parts of README.md that the code already says, so they cannot drift.

``python docs/generate.py`` rewrites every block of README.md between
``<!-- generated: NAME -->`` and ``<!-- end: NAME -->``; ``python docs/generate.py --check``
changes nothing and exits 1 with a diff when a block is stale (``tests/test_docs.py`` runs it).

The blocks:

- ``diagnostics``: one ``### `code``` section per registered diagnostic, from its docstring
  (first line in bold, the rest is the math), the roles it needs (``@diagnostic(...)``), and
  the thresholds it reads with their defaults. The thresholds are found in the code, not in
  a list kept by hand: every ``t.<field>`` of a ``Thresholds`` parameter in the diagnostic and
  in the analyzer functions it hands ``t`` to. A docstring may also write ``{field}`` for a
  default, formatted here, so its prose cannot state an old value either.
- ``thresholds``: every field of ``Thresholds``, its default, the diagnostics that read it and
  its source: ``field(metadata={"source": ...})`` when present, else the field's trailing
  comment, else the comment block above it (shared by the fields it introduces).
- ``advice``: :data:`analyzer.advice.ADVICE_RULES` in order: the rule, its docstring, and the
  finding codes it reads (code literals in the rule, the module-level code tuples it names,
  and the same-module helpers it calls).
- ``help-dlreport``, ``help-analyze``: ``dlreport --help`` and ``dlreport analyze --help``.
- ``md-excerpt``: the start of the Markdown report of ``sample_logs/``, from its golden file.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import inspect
import re
import sys
import textwrap
import tokenize
from collections.abc import Callable, Iterable
from io import StringIO
from pathlib import Path
from types import FunctionType, ModuleType

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from analyzer import advice as advice_module  # noqa: E402
from analyzer import thresholds as thresholds_module  # noqa: E402
from analyzer.diagnostics import REGISTRY  # noqa: E402
from analyzer.thresholds import Thresholds  # noqa: E402

HELP_WIDTH = 100  # click wraps help to this many columns whatever the terminal
BLOCK = re.compile(
    r"(?P<open><!-- generated: (?P<name>[\w-]+) -->\n)(?P<body>.*?)"
    r"(?P<close><!-- end: (?P=name) -->)",
    re.DOTALL,
)
PLACEHOLDER = re.compile(r"\{(\w+)\}")
FIELDS = {f.name: f for f in dataclasses.fields(Thresholds)}
DEFAULTS = Thresholds()


# --- numbers and docstrings ----------------------------------------------------------------


def fmt(value: object) -> str:
    """A default as people write it: 0.5, 128, 1e6, 1e-3 (not 1e+06 or 0.001000)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    text = f"{value:g}" if value == 0 or 1e-2 <= abs(value) < 1e4 else f"{value:.3g}"
    if "e" not in text and value != 0 and not 1e-2 <= abs(value) < 1e4:
        text = f"{value:.0e}" if float(f"{value:.0e}") == value else f"{value:e}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def fill(text: str) -> str:
    """``{field}`` placeholders replaced by the field's default; other braces left alone."""
    return PLACEHOLDER.sub(lambda m: fmt(getattr(DEFAULTS, m[1])) if m[1] in FIELDS else m[0], text)


def docstring(func: Callable[..., object]) -> tuple[str, str]:
    """(first line, the rest as one paragraph per blank-line-separated block)."""
    doc = inspect.getdoc(func) or ""
    head, _, rest = doc.partition("\n")
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", rest.strip()) if p.strip()]
    return fill(head.strip()), fill("\n\n".join(paragraphs))


# --- which thresholds a diagnostic reads ----------------------------------------------------


def _threshold_params(node: ast.FunctionDef) -> set[str]:
    args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
    return {
        a.arg
        for a in args
        if a.annotation is not None and "Thresholds" in ast.unparse(a.annotation)
    }


def _function_node(func: FunctionType) -> ast.FunctionDef | None:
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        return None
    node = ast.parse(source).body[0]
    return node if isinstance(node, ast.FunctionDef) else None


def thresholds_read(func: FunctionType, _seen: set[object] | None = None) -> list[str]:
    """Threshold fields ``func`` reads, itself or through the analyzer functions it passes
    its ``Thresholds`` parameter to, in order of first use."""
    seen = set() if _seen is None else _seen
    if func in seen:
        return []
    seen.add(func)
    node = _function_node(func)
    if node is None:
        return []
    params = _threshold_params(node)
    names: list[str] = []
    for sub in ast.walk(node):
        if (
            isinstance(sub, ast.Attribute)
            and isinstance(sub.value, ast.Name)
            and sub.value.id in params
            and sub.attr in FIELDS
        ):
            names.append(sub.attr)
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name):
            passes_t = any(
                isinstance(a, ast.Name) and a.id in params
                for a in [*sub.args, *(k.value for k in sub.keywords)]
            )
            callee = func.__globals__.get(sub.func.id)
            if (
                passes_t
                and isinstance(callee, FunctionType)
                and callee.__module__.startswith("analyzer")
            ):
                names.extend(thresholds_read(callee, seen))
    return list(dict.fromkeys(names))


def readers() -> dict[str, list[str]]:
    """threshold field -> the diagnostics that read it, then any other module reading it."""
    out: dict[str, list[str]] = {name: [] for name in FIELDS}
    for code, spec in REGISTRY.items():
        for name in thresholds_read(spec.func):  # type: ignore[arg-type]
            out[name].append(code)
    for name in FIELDS:
        out[name].extend(_modules_reading(name))
    return out


def _modules_reading(name: str) -> list[str]:
    """Modules outside diagnostics/, thresholds.py and settings.py that read attribute ``name``."""
    package = ROOT / "analyzer"
    found = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if rel.parts[0] == "diagnostics" or rel.name in ("thresholds.py", "settings.py"):
            continue
        if re.search(rf"\.{name}\b", path.read_text(encoding="utf-8")):
            found.append(".".join(rel.with_suffix("").parts))
    return found


# --- where each threshold comes from ------------------------------------------------------


def _comments(module: ModuleType) -> dict[int, str]:
    """line number -> comment text (without ``#``) of every comment in the module."""
    source = inspect.getsource(module)
    return {
        tok.start[0]: tok.string.lstrip("#").strip()
        for tok in tokenize.generate_tokens(StringIO(source).readline)
        if tok.type == tokenize.COMMENT
    }


def sources(cls: type = Thresholds, module: ModuleType = thresholds_module) -> dict[str, str]:
    """field of ``cls`` -> where its number comes from.

    ``field(metadata={"source": ...})`` when present; else the comment on the field's line;
    else the comment block above it, which also covers the fields between it and this one.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    lines = inspect.getsource(module).splitlines()
    comments = _comments(module)
    # The class body's lines only: another class may have fields of the same names.
    start = next(i for i, line in enumerate(lines, 1) if line.startswith(f"class {cls.__name__}"))
    field_line = {}
    for i, line in enumerate(lines[start:], start=start + 1):
        if line and not line[0].isspace() and not line.startswith("#"):
            break  # the end of the class
        m = re.match(r"\s+(\w+)\s*:", line)
        if m and m[1] in fields and m[1] not in field_line:
            field_line[m[1]] = i
    out: dict[str, str] = {}
    for name, f in fields.items():
        meta = f.metadata.get("source") if f.metadata else None
        if meta:
            out[name] = " ".join(str(meta).split())
            continue
        at = field_line.get(name)
        if at is None:
            raise LookupError(f"{cls.__name__}.{name}: no source (metadata) and no line to read")
        if at in comments:
            out[name] = comments[at]  # a comment of its own, on its line
            continue
        # The comment block above: walk up over the fields it also introduces.
        i = at - 1
        while i > 0 and re.match(r"\s+\w+\s*:", lines[i - 1]):
            i -= 1
        block: list[int] = []
        while i > 0 and lines[i - 1].lstrip().startswith("#"):
            block.insert(0, i)
            i -= 1
        text = " ".join(_section_text(comments[j]) for j in block).strip()
        if not text:
            raise LookupError(f"{cls.__name__}.{name}: no source, in metadata or a comment")
        out[name] = text
    return out


def _section_text(comment: str) -> str:
    """A comment line's text; a ``--- title`` header keeps only what follows its colon."""
    if comment.startswith("---"):
        _, colon, rest = comment.partition(":")
        return rest.strip() if colon else ""
    return comment


# --- the blocks ------------------------------------------------------------------------------


def _codes(names: Iterable[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def block_diagnostics() -> str:
    parts = []
    for code, spec in REGISTRY.items():
        head, body = docstring(spec.func)
        needs = " or ".join(" + ".join(f"`{r}`" for r in option) for option in spec.requires)
        used = thresholds_read(spec.func)  # type: ignore[arg-type]
        facts = f"Needs {needs}."
        if used:
            values = ", ".join(f"`{n}` = {fmt(getattr(DEFAULTS, n))}" for n in used)
            facts += f" Thresholds (defaults): {values}."
        parts.append("\n\n".join(p for p in (f"### `{code}`\n**{head}**", body, facts) if p))
    return "\n\n".join(parts) + "\n"


def block_thresholds() -> str:
    src, used = sources(), readers()
    # The advice's own limits (when thresholds has them) are listed after the thresholds.
    limits = getattr(thresholds_module, "AdviceLimits", None)
    values: dict[str, object] = {n: getattr(DEFAULTS, n) for n in FIELDS}
    if limits is not None:
        src.update(sources(limits, thresholds_module))
        for name in (f.name for f in dataclasses.fields(limits)):
            values[name] = getattr(limits(), name)
            used[name] = _modules_reading(name)
    rows = ["| threshold | default | read by | source |", "| --- | ---: | --- | --- |"]
    # Neighbouring fields with one source (one comment block, or one shared text) share a row.
    groups: list[list[str]] = []
    for name in values:
        if groups and src[groups[-1][0]] == src[name]:
            groups[-1].append(name)
        else:
            groups.append([name])
    for group in groups:
        readers_ = dict.fromkeys(c for n in group for c in used[n])
        rows.append(
            "| "
            + "<br>".join(f"`{n}`" for n in group)
            + " | "
            + "<br>".join(fmt(values[n]) for n in group)
            + " | "
            + (_codes(readers_) or "nothing")
            + " | "
            + src[group[0]].replace("|", "\\|")
            + " |"
        )
    return "\n".join(rows) + "\n"


def codes_read(func: FunctionType, _seen: set[object] | None = None) -> list[str]:
    """Finding codes an advice rule reads: literals, code tuples it names, helpers it calls."""
    known = set(REGISTRY) | {"no_signal"}
    seen = set() if _seen is None else _seen
    if func in seen:
        return []
    seen.add(func)
    node = _function_node(func)
    if node is None:
        return []
    out: list[str] = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and sub.value in known:
            out.append(sub.value)
        elif isinstance(sub, ast.Name):
            value = func.__globals__.get(sub.id)
            if isinstance(value, tuple):
                out.extend(v for v in value if isinstance(v, str) and v in known)
            elif isinstance(value, FunctionType) and value.__module__ == func.__module__:
                out.extend(codes_read(value, seen))
    return list(dict.fromkeys(out))


def block_advice() -> str:
    rows = ["| rule | what it advises, and why | findings it reads |", "| --- | --- | --- |"]
    for rule in advice_module.ADVICE_RULES:
        head, body = docstring(rule)
        text = f"{head} {body}".strip().replace("|", "\\|").replace("\n\n", " ")
        rows.append(f"| `{rule.__name__}` | {text} | {_codes(codes_read(rule))} |")  # type: ignore[arg-type]
    return "\n".join(rows) + "\n"


def _help(args: list[str]) -> str:
    from click.testing import CliRunner

    from analyzer.cli import cli

    result = CliRunner().invoke(
        cli, args, prog_name="dlreport", terminal_width=HELP_WIDTH, max_content_width=HELP_WIDTH
    )
    if result.exit_code != 0:
        raise RuntimeError(f"dlreport {' '.join(args)} exited {result.exit_code}")
    return "```text\n" + result.output.rstrip() + "\n```\n"


SAMPLE_MD = ROOT / "tests" / "golden" / "sample_logs" / "report.md"


def block_md_excerpt(rows: int = 3) -> str:
    """The start of ``dlreport analyze sample_logs -f md``: the heading, the first rows of the
    run table, the first run's heading and top advice. Taken from the golden file, which
    tests/test_golden.py holds to the code."""
    lines = SAMPLE_MD.read_text(encoding="utf-8").splitlines()
    table = [i for i, line in enumerate(lines) if line.startswith("|")]
    first_run = next(i for i, line in enumerate(lines) if line.startswith("### "))
    advice = next((line for line in lines[first_run:] if line.startswith("**Top advice:**")), None)
    out = [lines[0], "", *lines[table[0] : table[0] + 2 + rows], "", lines[first_run]]
    if advice is not None:
        out += ["", advice]
    return "```markdown\n" + "\n".join(out) + "\n```\n"


BLOCKS: dict[str, Callable[[], str]] = {
    "md-excerpt": block_md_excerpt,
    "diagnostics": block_diagnostics,
    "thresholds": block_thresholds,
    "advice": block_advice,
    "help-dlreport": lambda: _help(["--help"]),
    "help-analyze": lambda: _help(["analyze", "--help"]),
}


# --- rewrite or check ------------------------------------------------------------------------


def render(text: str) -> str:
    """``text`` with every generated block rewritten; an unknown or missing block is an error."""
    found = {m["name"] for m in BLOCK.finditer(text)}
    unknown, missing = found - set(BLOCKS), set(BLOCKS) - found
    if unknown or missing:
        raise ValueError(
            f"README blocks: unknown {sorted(unknown)}, missing {sorted(missing)} "
            "(each needs <!-- generated: NAME --> ... <!-- end: NAME -->)"
        )
    cache = {name: make() for name, make in BLOCKS.items()}
    # Blank lines around the content: Markdown then never joins it to the markers.
    return BLOCK.sub(lambda m: m["open"] + "\n" + cache[m["name"]] + "\n" + m["close"], text)


def check(path: Path = README) -> str:
    """The unified diff between ``path`` and its regenerated text ('' when up to date)."""
    old = path.read_text(encoding="utf-8")
    new = render(old)
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"{path.name} (committed)",
            tofile=f"{path.name} (generated from the code)",
        )
    )


def main(argv: list[str]) -> int:
    if argv[1:] == ["--check"]:
        diff = check()
        if diff:
            sys.stdout.write(diff)
            print("README.md is stale: run `python docs/generate.py` and commit.", file=sys.stderr)
            return 1
        return 0
    if argv[1:]:
        print("usage: python docs/generate.py [--check]", file=sys.stderr)
        return 2
    old = README.read_text(encoding="utf-8")
    new = render(old)
    if new != old:
        README.write_text(new, encoding="utf-8")
        print("README.md regenerated")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
