"""The glossary (术语表): Chinese term, English term, a one-line definition in both, where it is taught.

>>> terms = load_glossary()
>>> next(t for t in terms if t.en == "sparsity").zh
'稀疏度'
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

#: the glossary shipped with the package
GLOSSARY_PATH = Path(__file__).with_name("glossary.json")
FIELDS = ("zh", "en", "definition_zh", "definition_en", "notebook")


@dataclass(frozen=True)
class Term:
    zh: str
    en: str
    definition_zh: str
    definition_en: str
    notebook: str  # the notebook's stem, e.g. "03_criteria"


def parse_glossary(data) -> list:
    """Check a glossary read from JSON; ``ValueError`` naming the entry and the field."""
    if not isinstance(data, dict) or data.get("version") != 1 or not isinstance(data.get("terms"), list):
        raise ValueError("a glossary must be a JSON object with version 1 and a list of 'terms'")
    terms, seen = [], set()
    for i, raw in enumerate(data["terms"]):
        if not isinstance(raw, dict) or set(raw) != set(FIELDS):
            got = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
            raise ValueError(f"glossary term #{i} must have exactly the fields {list(FIELDS)}, got {got}")
        for name in FIELDS:
            if not isinstance(raw[name], str) or not raw[name].strip():
                raise ValueError(f"glossary term #{i} ({raw.get('en')!r}): {name} must be a non-empty string")
        if raw["en"] in seen:
            raise ValueError(f"glossary term {raw['en']!r} appears more than once")
        seen.add(raw["en"])
        terms.append(Term(**raw))
    return terms


def load_glossary(path=None) -> list:
    """The glossary's terms, in file order."""
    path = GLOSSARY_PATH if path is None else Path(path)
    return parse_glossary(json.loads(path.read_text(encoding="utf-8")))


def glossary_markdown(terms=None, lang: str = "zh") -> str:
    """The glossary as a markdown table; ``lang`` sets the headings and which definition comes first."""
    if lang not in ("zh", "en"):
        raise ValueError(f"lang={lang!r} must be 'zh' or 'en'")
    terms = load_glossary() if terms is None else terms
    head = ("| 中文 | English | 释义 | Definition | 讲解位置 |" if lang == "zh"
            else "| English | 中文 | Definition | 释义 | Taught in |")
    rows = [head, "|---|---|---|---|---|"]
    for t in terms:
        cells = ((t.zh, t.en, t.definition_zh, t.definition_en) if lang == "zh"
                 else (t.en, t.zh, t.definition_en, t.definition_zh))
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + f" | `{t.notebook}` |")
    return "\n".join(rows)


def terms_in(text: str, terms=None) -> list:
    """The glossary terms whose Chinese or English form occurs in ``text`` (used to link cards to the glossary)."""
    terms = load_glossary() if terms is None else terms
    lowered = text.lower()
    return [t for t in terms if t.zh.split("（")[0] in text or t.en.split(" (")[0].lower() in lowered]
