"""Reference pages generated from their sources, so they cannot drift.

* ``<!-- generated:options -->`` holds the options reference, read from ``copier.yml``.
* ``<!-- generated:settings -->`` holds the settings reference, read with ``ast`` from
  ``app/core/config.py`` of the template rendered for a few combinations (and from the pieces
  ``Settings`` inherits, in the modules it imports them from).

Each block runs to its ``<!-- end generated:... -->`` line and is committed, so the Markdown
reads the same on GitHub as on the built site; ``uv run python docs/hooks/reference.py``
rewrites the blocks, the site build refreshes them and warns (fails, strictly) when the
committed ones are stale, and ``tests/test_docs_reference.py`` keeps them equal.
* Every ``tests/<file>.py::<test>`` that a page cites must exist in the rendered suite
  (``template/tests/``).

Problems are logged as warnings, so ``mkdocs build --strict`` fails on them. The functions below
need only the standard library, PyYAML and copier, so the template's own tests import this module
without mkdocs (``tests/test_docs_reference.py``).
"""

from __future__ import annotations

import ast
import contextlib
import json
import logging
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger("mkdocs.hooks.reference")

OPTIONS_MARKER = "<!-- generated:options -->"
SETTINGS_MARKER = "<!-- generated:settings -->"
TEST_REF = re.compile(r"tests/((?:[\w-]+/)*test_\w+\.py)::(\w+)")

# Combinations rendered for the settings reference: the defaults first, then one change each,
# so a setting's availability can be read off the combinations it appears in.
COMBINATIONS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "no rate limiting": {"rate_limiting": False},
    "redis": {"rate_limit_storage": "redis"},
    "postgresql": {"database": "postgresql"},
    "postgresql + redis": {"database": "postgresql", "rate_limit_storage": "redis"},
    "mysql": {"database": "mysql"},
    "email": {"email": True},
    "email, no rate limiting": {"email": True, "rate_limiting": False},
    "sentry": {"sentry": True},
    "task_queue=redis": {"task_queue": "redis"},
}
_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", ".nox", "site", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"
)


# --- copier.yml -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    name: str
    spec: dict[str, Any]

    @property
    def help(self) -> str:
        return str(self.spec.get("help") or "").strip()

    @property
    def type(self) -> str:
        if "type" in self.spec:
            return str(self.spec["type"])
        default = self.spec.get("default")
        return {bool: "bool", int: "int", float: "float"}.get(type(default), "str")

    @property
    def choices(self) -> list[Any]:
        choices = self.spec.get("choices") or []
        return list(choices.values() if isinstance(choices, dict) else choices)

    @property
    def when(self) -> str | None:
        when = self.spec.get("when")
        return None if when is None or when is True else _expression(when)


def load_copier_yml(root: Path = ROOT) -> dict[str, Any]:
    return yaml.safe_load((root / "copier.yml").read_text(encoding="utf-8"))


def _entries(config: dict[str, Any]) -> list[Question]:
    return [
        Question(key, spec if isinstance(spec, dict) else {"default": spec})
        for key, spec in config.items()
        if not key.startswith("_")
    ]


def questions(config: dict[str, Any]) -> list[Question]:
    """What copier asks: top-level keys not starting with ``_`` and without ``when: false``."""
    return [q for q in _entries(config) if q.spec.get("when") is not False]


def computed(config: dict[str, Any]) -> list[Question]:
    """Values derived from the answers (``when: false``): never asked, never recorded."""
    return [q for q in _entries(config) if q.spec.get("when") is False]


def _expression(value: Any) -> str:
    """``"[[ rate_limiting ]]"`` -> ``rate_limiting``; anything else unchanged."""
    text = str(value).strip()
    match = re.fullmatch(r"\[\[\s*(.*?)\s*\]\]", text, re.S)
    return match.group(1) if match else text


def _code(value: Any) -> str:
    if isinstance(value, bool):
        value = str(value).lower()
    text = " ".join(str(value).split())
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _default(question: Question) -> str:
    if "default" not in question.spec:
        return "—"
    value = question.spec["default"]
    if isinstance(value, str) and ("[[" in value or "[%" in value):
        return "derived"
    return _code(value)


def options_reference(config: dict[str, Any]) -> str:
    """The options page body: a summary table, then one section per question."""
    asked = questions(config)
    lines = [
        "| Question | Type | Default | Asked |",
        "|---|---|---|---|",
    ]
    for q in asked:
        when = f"when {_code(q.when)}" if q.when else "always"
        kind = f"`{q.type}` (choice)" if q.choices else f"`{q.type}`"
        lines.append(f"| [`{q.name}`](#{q.name}) | {kind} | {_default(q)} | {when} |")
    for q in asked:
        # No attr_list id: the heading's own slug is the name, on GitHub and on the site alike.
        lines += ["", f"### `{q.name}`", "", q.help or "*(no help text)*", ""]
        lines.append(f"- **Type:** `{q.type}`")
        if _default(q) == "derived":  # its help says how; the expression itself is no reading
            lines.append("- **Default:** derived from the answers before it")
        elif "default" in q.spec:
            lines.append(f"- **Default:** {_code(q.spec['default'])}")
        if q.choices:
            lines.append("- **Choices:** " + ", ".join(_code(c) for c in q.choices))
        lines.append(f"- **Asked:** only when {_code(q.when)}" if q.when else "- **Asked:** always")
        if "validator" in q.spec:
            lines.append("- **Validated:** an invalid answer is refused before anything is written")
        lines.append(f"- **Pass it:** `--data {q.name}=...`")
    derived = computed(config)
    if derived:
        lines += [
            "",
            "## Computed values",
            "",
            "Derived from the answers inside the template; never asked and never recorded in "
            "`.copier-answers.yml`.",
            "",
            "| Name | Type | Value |",
            "|---|---|---|",
        ]
        lines += [f"| `{q.name}` | `{q.type}` | {_code(q.spec.get('default'))} |" for q in derived]
    return "\n".join(lines) + "\n"


# --- the rendered Settings class --------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    name: str
    annotation: str
    default: str | None  # source text of the default; None when required
    description: str


@dataclass
class SettingsReference:
    combinations: dict[str, dict[str, Any]]
    settings: dict[str, dict[str, Setting]] = field(default_factory=dict)  # combination -> name

    def names(self) -> list[str]:
        seen: dict[str, None] = {}
        for found in self.settings.values():
            seen.update(dict.fromkeys(found))
        return list(seen)

    def where(self, name: str) -> list[str]:
        return [combo for combo, found in self.settings.items() if name in found]


def parse_settings(source: str, class_name: str = "Settings") -> dict[str, Setting]:
    """Fields of ``class Settings(BaseSettings)``: name, annotation, default, description."""
    tree = ast.parse(source)
    cls = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name), None)
    if cls is None:
        raise LookupError(f"no class {class_name} in the settings module")
    prefix = _env_prefix(cls)
    # Module-level NAME = literal, so a default written as a constant reads as its value.
    constants = {
        t.id: ast.unparse(n.value)
        for n in tree.body
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    found: dict[str, Setting] = {}
    for node in cls.body:
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            continue
        name, annotation = node.target.id, ast.unparse(_unannotated(node.annotation))
        if name == "model_config" or annotation.startswith(("ClassVar", "typing.ClassVar")):
            continue
        default, description, alias = _field(node.value)
        default = constants.get(default, default) if default is not None else None
        env = alias or prefix + name
        found[env] = Setting(env, annotation, default, description)
    return found


def _unannotated(node: ast.expr) -> ast.expr:
    """``Annotated[list[str], NoDecode]`` -> ``list[str]``: readers need the type only."""
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name | ast.Attribute)
        and ast.unparse(node.value).endswith("Annotated")
        and isinstance(node.slice, ast.Tuple)
    ):
        return node.slice.elts[0]
    return node


def _env_prefix(cls: ast.ClassDef) -> str:
    for node in cls.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == "model_config" for t in targets):
            call = node.value
            if isinstance(call, ast.Call):
                for kw in call.keywords:
                    if kw.arg == "env_prefix" and isinstance(kw.value, ast.Constant):
                        return str(kw.value.value)
    return ""


def _field(value: ast.expr | None) -> tuple[str | None, str, str | None]:
    """(default source or None when required, description, alias) of a field's value."""
    if value is None:
        return None, "", None
    is_field = isinstance(value, ast.Call) and (
        (isinstance(value.func, ast.Name) and value.func.id == "Field")
        or (isinstance(value.func, ast.Attribute) and value.func.attr == "Field")
    )
    if not is_field:
        return ast.unparse(value), "", None
    assert isinstance(value, ast.Call)
    keywords = {kw.arg: kw.value for kw in value.keywords if kw.arg}
    default: str | None = None
    if value.args and not _is_ellipsis(value.args[0]):
        default = ast.unparse(value.args[0])
    elif "default" in keywords and not _is_ellipsis(keywords["default"]):
        default = ast.unparse(keywords["default"])
    elif "default_factory" in keywords:
        factory = ast.unparse(keywords["default_factory"])
        default = {"list": "[]", "dict": "{}", "set": "set()"}.get(factory, "<computed>")
    description = ""
    node = keywords.get("description")
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        description = " ".join(node.value.split())
    elif node is not None:
        description = ast.unparse(node)
    alias = None
    for key in ("validation_alias", "alias"):
        node = keywords.get(key)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            alias = node.value
            break
    return default, description, alias


def _is_ellipsis(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is Ellipsis


def collect_settings(
    root: Path = ROOT, combinations: dict[str, dict[str, Any]] = COMBINATIONS
) -> SettingsReference:
    """Render each combination from the working tree (not a commit) and parse its Settings."""
    from copier import run_copy  # imported late: only the settings reference renders

    reference = SettingsReference(combinations)
    with tempfile.TemporaryDirectory(prefix="docs-reference-") as tmp:
        source = Path(tmp) / "template"
        shutil.copytree(root, source, ignore=_IGNORE)
        for index, (combo, data) in enumerate(combinations.items()):
            dest = Path(tmp) / f"render-{index}"
            run_copy(
                str(source),
                dest,
                data=data,
                defaults=True,
                unsafe=True,
                quiet=True,
                skip_tasks=True,
            )
            reference.settings[combo] = project_settings(dest)
    return reference


def project_settings(project: Path, module: str = "app.core.config") -> dict[str, Setting]:
    """``Settings`` of a rendered project with the fields of the pieces it inherits: each base
    imported ``from app.<module> import <Piece>`` is parsed in its module, in pydantic's order
    (the last base's fields first, the class's own last)."""
    path = project / Path(*module.split(".")).with_suffix(".py")
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    imported = {
        alias.asname or alias.name: (node.module, alias.name)
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("app.")
        for alias in node.names
    }
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings")
    found: dict[str, Setting] = {}
    for base in reversed(cls.bases):
        if isinstance(base, ast.Name) and base.id in imported:
            piece_module, piece = imported[base.id]
            piece_path = project / Path(*piece_module.split(".")).with_suffix(".py")
            found.update(parse_settings(piece_path.read_text(encoding="utf-8"), piece))
    found.update(parse_settings(source))
    return found


def _answers(reference: SettingsReference, combo: str, config: dict[str, Any]) -> dict[str, Any]:
    defaults = {q.name: q.spec.get("default") for q in questions(config)}
    return {**defaults, **reference.combinations[combo]}


def _condition(
    reference: SettingsReference, members: list[str], others: list[str], config: dict[str, Any]
) -> str | None:
    """The fewest answers that all ``members`` share and that rule out every one of ``others``,
    as ``rate_limit_storage=redis``; None when no such answers exist."""
    answers = {c: _answers(reference, c, config) for c in members + others}
    shared = set.intersection(*({(k, repr(v)) for k, v in answers[c].items()} for c in members))

    def ruled_out(pair: tuple[str, str], combos: set[str]) -> set[str]:
        return {c for c in combos if repr(answers[c].get(pair[0])) != pair[1]}

    needs: list[str] = []
    left = set(others)
    while left:
        best = max(sorted(shared), key=lambda pair: len(ruled_out(pair, left)), default=None)
        if best is None or not ruled_out(best, left):
            return None
        needs.append(best[0])
        left -= ruled_out(best, left)
    return ", ".join(f"{key}={_answer(answers[members[0]][key])}" for key in needs)


def _availability(reference: SettingsReference, name: str, config: dict[str, Any]) -> str:
    """``always``, or the answers a setting needs (e.g. ``with rate_limit_storage=redis``)."""
    where = reference.where(name)
    absent = [c for c in reference.settings if c not in where]
    if not absent:
        return "always"
    condition = _condition(reference, where, absent, config)
    if condition:
        return f"with {_code(condition)}"
    either = _either(reference, where, absent, config)
    if either:
        return "with " + " or ".join(_code(answer) for answer in either)
    return "in: " + ", ".join(where)


def _either(
    reference: SettingsReference, members: list[str], others: list[str], config: dict[str, Any]
) -> list[str]:
    """Single answers, none of which any of ``others`` gives, that together cover ``members``
    (``rate_limiting=true`` or ``email=true``); empty when there are none."""
    answers = {c: _answers(reference, c, config) for c in members + others}
    values = {
        (key, repr(value)): value
        for combo in members
        for key, value in answers[combo].items()
        if all(repr(answers[other].get(key)) != repr(value) for other in others)
    }
    candidates = set(values)
    chosen: list[tuple[str, str]] = []
    left = set(members)
    while left:
        best = max(
            sorted(candidates),
            key=lambda pair: sum(repr(answers[c].get(pair[0])) == pair[1] for c in left),
            default=None,
        )
        covered = {c for c in left if best and repr(answers[c].get(best[0])) == best[1]}
        if not covered:
            return []
        assert best is not None
        chosen.append(best)
        left -= covered
    return [f"{pair[0]}={_answer(values[pair])}" for pair in chosen]


def _answer(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _per_combination(
    reference: SettingsReference, name: str, attribute: str, config: dict[str, Any]
) -> dict[Any, str]:
    """Distinct values of one attribute of a setting -> the answers that give it."""
    values: dict[Any, list[str]] = {}
    for combo in reference.where(name):
        values.setdefault(getattr(reference.settings[combo][name], attribute), []).append(combo)
    labels = {}
    for value, combos in values.items():
        others = [c for group in values.values() if group is not combos for c in group]
        labels[value] = _condition(reference, combos, others, config) or " / ".join(combos)
    return labels


def _cell(attribute: str, value: Any) -> str:
    if attribute == "description":
        return value or "*(no description)*"
    if value is None:
        return "*required*"
    if attribute == "default":
        return _env_value(value)
    return _type(value)


def _type(annotation: str) -> str:
    """``Literal['a', 'b']`` -> ``one of `a`, `b` ``; other annotations as code."""
    match = re.fullmatch(r"Literal\[(.*)\]", annotation)
    if match:
        with contextlib.suppress(ValueError, SyntaxError):
            choices = ast.literal_eval(f"({match.group(1)},)")
            return "one of " + ", ".join(_code(choice) for choice in choices)
    return _code(annotation)


def _env_value(source: str) -> str:
    """A default's source as one would write it in the environment: ``'INFO'`` -> ``INFO``."""
    try:
        value = ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return _code(source)
    if value is None:
        return "*unset*"
    if isinstance(value, bool):
        return _code(str(value).lower())
    if isinstance(value, str):
        return _code(value) if value else '`""`'
    if isinstance(value, list | dict):
        return _code(json.dumps(value))
    return _code(value)


def settings_reference(reference: SettingsReference, config: dict[str, Any]) -> str:
    """Three columns, so the table fits the page: variable and type, default, description."""
    lines = ["| Variable | Default | Description |", "|---|---|---|"]
    for name in reference.names():
        cells = []
        for attribute in ("annotation", "default", "description"):
            values = _per_combination(reference, name, attribute, config)
            shown = {value: _cell(attribute, value) for value in values}
            if len(values) == 1:
                cells.append(next(iter(shown.values())))
            else:
                cells.append("<br>".join(f"*{combos}:* {shown[v]}" for v, combos in values.items()))
        annotation, default, description = cells
        availability = _availability(reference, name, config)
        if availability != "always":
            description = f"**Only {availability}.** {description}"
        lines.append(f"| `{name}`<br>{annotation} | {default} | {description} |")
    return "\n".join(lines) + "\n"


# --- tests cited by the docs ------------------------------------------------------------------


def cited_tests(markdown: str) -> list[tuple[str, str]]:
    return TEST_REF.findall(markdown)


def missing_tests(markdown: str, root: Path = ROOT) -> list[str]:
    """Citations ``tests/<file>::<test>`` with no such test in ``template/tests``."""
    tests_dir = root / "template" / "tests"
    missing = []
    for path, test in cited_tests(markdown):
        candidates = [tests_dir / path, tests_dir / f"{path}.jinja"]
        candidates += list(tests_dir.glob(f"**/*{Path(path).name}*"))
        pattern = re.compile(rf"^\s*(?:\[\[ async_ \]\]|async )?def {test}\b", re.M)
        if not any(c.is_file() and pattern.search(c.read_text("utf-8")) for c in candidates):
            missing.append(f"tests/{path}::{test}")
    return missing


# --- mkdocs hooks -----------------------------------------------------------------------------


@cache
def _generated(root: Path) -> tuple[dict[str, Any], str, str]:
    config = load_copier_yml(root)
    options = options_reference(config)
    try:
        settings = settings_reference(collect_settings(root), config)
    except Exception as exc:  # a render or parse failure must fail the strict build, not crash it
        log.warning("settings reference: cannot render or read the Settings class: %r", exc)
        settings = "*The settings reference could not be generated.*\n"
    return config, options, settings


def on_pre_build(config: Any) -> None:
    _generated.cache_clear()  # `mkdocs serve` rebuilds: read the template afresh each time
    copier_config, _, _ = _generated(ROOT)
    for q in questions(copier_config):
        if not q.help:
            log.warning("copier.yml: question '%s' has no help", q.name)


def has_marker(markdown: str, marker: str) -> bool:
    """A marker counts on a line of its own (so a page may mention it in prose)."""
    return re.search(rf"^{re.escape(marker)}[ \t]*$", markdown, re.M) is not None


def end_marker(marker: str) -> str:
    return marker.replace("<!-- generated:", "<!-- end generated:")


def _block(marker: str) -> re.Pattern[str]:
    """The marker line through its end line, or the marker line alone (a page not yet filled)."""
    begin, end = re.escape(marker), re.escape(end_marker(marker))
    return re.compile(rf"^{begin}[ \t]*\n.*?^{end}[ \t]*$|^{begin}[ \t]*$", re.M | re.S)


def with_generated(markdown: str, marker: str, text: str) -> str:
    """``markdown`` with the block of ``marker`` holding ``text``."""
    block = f"{marker}\n\n{text}\n{end_marker(marker)}"
    return _block(marker).sub(lambda _: block, markdown, count=1)


PAGES = {"options.md": OPTIONS_MARKER, "service/settings.md": SETTINGS_MARKER}


def write_generated(root: Path = ROOT) -> list[str]:
    """Rewrite the generated blocks of the committed pages; the pages that changed."""
    _, options, settings = _generated(root)
    texts = {OPTIONS_MARKER: options, SETTINGS_MARKER: settings}
    changed = []
    for page, marker in PAGES.items():
        path = root / "docs" / page
        markdown = path.read_text(encoding="utf-8")
        fresh = with_generated(markdown, marker, texts[marker])
        if fresh != markdown:
            path.write_text(fresh, encoding="utf-8")
            changed.append(page)
    return changed


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    _, options, settings = _generated(ROOT)
    for marker, text in ((OPTIONS_MARKER, options), (SETTINGS_MARKER, settings)):
        if has_marker(markdown, marker):
            fresh = with_generated(markdown, marker, text)
            if fresh != markdown:
                log.warning(
                    "%s: the committed %s is stale; run `uv run python docs/hooks/reference.py`",
                    page.file.src_uri,
                    marker,
                )
            markdown = fresh
    if has_marker(markdown, SETTINGS_MARKER):
        for row in settings.splitlines():
            if "*(no description)*" in row:
                name = row.split("`")[1]
                log.warning("Settings.%s has no Field(description=...)", name)
    for citation in missing_tests(markdown):
        log.warning("%s cites %s, which is not in template/tests", page.file.src_uri, citation)
    return markdown


if __name__ == "__main__":
    logging.basicConfig(format="%(message)s")
    for changed_page in write_generated():
        print(f"rewrote docs/{changed_page}")
