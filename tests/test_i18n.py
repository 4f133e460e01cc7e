"""The Chinese course: glossary, translation catalogue, and the generated twins in notebooks/zh/."""
import copy
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from adaprune_edu.i18n.catalogue import (
    build_twin,
    catalogue_path,
    check,
    describe,
    load_catalogue,
    source_sha256,
    stub,
    verbatim_parts,
)
from adaprune_edu.i18n.glossary import glossary_markdown, load_glossary, parse_glossary, terms_in
from adaprune_edu.quiz import load_deck

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CJK = re.compile(r"[\u4e00-\u9fff]")


def read(path):
    return nbformat.read(str(path), as_version=4)


# ------------------------------------------------------------------ every notebook has a current twin
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_every_markdown_cell_has_a_current_translation(path):
    nb = read(path)
    catalogue = load_catalogue(path.name)
    status = check(nb, catalogue, path.name)
    assert status.complete, "run scripts/build_zh.py --stub, translate, rebuild:\n" + describe(status, nb, catalogue)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_twin_has_the_same_code_and_outputs_and_the_catalogue_markdown(path):
    twin_path = ROOT / "notebooks" / "zh" / path.name
    assert twin_path.exists(), f"no Chinese twin {twin_path.relative_to(ROOT)}: run scripts/build_zh.py"
    nb, twin = read(path), read(twin_path)
    assert [c.id for c in twin.cells] == [c.id for c in nb.cells]
    for mine, theirs in zip(twin.cells, nb.cells):
        assert mine.cell_type == theirs.cell_type
        if theirs.cell_type == "code":
            assert mine.source == theirs.source, f"code cell {theirs.id} differs: run scripts/build_zh.py"
            assert mine.outputs == theirs.outputs, f"stored outputs of cell {theirs.id} differ: run scripts/build_zh.py"
            assert mine.metadata == theirs.metadata and mine.execution_count == theirs.execution_count
    rebuild = "the twin was edited by hand or is out of date: run scripts/build_zh.py"
    assert twin == build_twin(nb, load_catalogue(path.name)), rebuild
    assert CJK.search(twin.cells[0].source) and "学完本节，你将能够" in twin.cells[0].source


# ------------------------------------------------------------------ the machinery
@pytest.fixture
def tiny():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title\n\nUse `prune(model)` and $s_t$."),
                nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_markdown_cell("## Summary")]
    for i, cell in enumerate(nb.cells):
        cell.id = f"c{i}"
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    catalogue = {"notebook": "99_tiny.ipynb", "language": "zh", "cells": {}}
    return nb, catalogue


def translate(catalogue, nb, cell_id, zh):
    source = next(c.source for c in nb.cells if c.id == cell_id)
    catalogue["cells"][cell_id] = {"en_sha256": source_sha256(source), "en": source, "zh": zh}


def test_missing_stale_broken_and_orphaned_cells_are_named(tiny):
    nb, catalogue = tiny
    assert check(nb, catalogue).missing == ["c0", "c2"]
    translate(catalogue, nb, "c0", "# 标题\n\n用 `prune(model)` 和 $s_t$。")
    translate(catalogue, nb, "c2", "## 小结")
    assert check(nb, catalogue).complete and check(nb, catalogue).current == ["c0", "c2"]
    nb.cells[2].source = "## Summary and exercises"  # the English changes: exactly that cell is stale
    status = check(nb, catalogue, "99_tiny.ipynb")
    assert status.stale == ["c2"] and status.current == ["c0"] and not status.complete
    report = describe(status, nb, catalogue)
    assert "stale    c2" in report and "-## Summary" in report and "+## Summary and exercises" in report
    catalogue["cells"]["c0"]["zh"] = "# 标题\n\n用 `prune()` 和 $s_t$。"  # a code span changed in translation
    assert check(nb, catalogue).broken == [("c0", "its code spans, code blocks or formulas differ from the English")]
    catalogue["cells"]["gone"] = {"en_sha256": "x", "en": "old", "zh": "旧"}
    assert check(nb, catalogue).orphaned == ["gone"]
    del nb.cells[0]["id"]
    with pytest.raises(ValueError, match="has no id"):
        check(nb, catalogue)


def test_build_twin_swaps_markdown_only_and_refuses_incomplete(tiny):
    nb, catalogue = tiny
    translate(catalogue, nb, "c0", "# 标题\n\n用 `prune(model)` 和 $s_t$。")
    with pytest.raises(ValueError, match=r"missing \['c2'\]"):
        build_twin(nb, catalogue)
    partial = build_twin(nb, catalogue, allow_incomplete=True)
    assert "尚未翻译" in partial.cells[2].source
    translate(catalogue, nb, "c2", "## 小结")
    original = copy.deepcopy(nb)
    twin = build_twin(nb, catalogue)
    assert nb == original  # the source is not modified
    assert [c.source for c in twin.cells] == ["# 标题\n\n用 `prune(model)` 和 $s_t$。", "x = 1", "## 小结"]
    assert twin.cells[1].outputs == nb.cells[1].outputs
    assert twin.metadata["adaprune_edu"]["translation"]["language"] == "zh"


def test_stub_keeps_the_old_translation_of_a_stale_cell(tiny):
    nb, catalogue = tiny
    translate(catalogue, nb, "c0", "# 标题\n\n用 `prune(model)` 和 $s_t$。")
    nb.cells[0].source += "\n\nMore."
    assert stub(nb, catalogue) == ["c2", "c0"]
    entry = catalogue["cells"]["c0"]
    assert entry["zh"] == "" and entry["zh_previous"].startswith("# 标题") and entry["en"].endswith("More.")
    assert check(nb, catalogue).missing == ["c0", "c2"]


def test_verbatim_parts():
    text = "a `x` b ```\ncode\n``` $y$ $$z$$"
    assert verbatim_parts(text) == sorted(["`x`", "```\ncode\n```", "$y$", "$$z$$"])
    assert catalogue_path("00_setup_and_tour.ipynb").name == "00_setup_and_tour.zh.json"


def test_build_script_reports_and_checks(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_zh.py"), "--check",
                             str(ROOT / "notebooks" / "00_setup_and_tour.ipynb")],
                            capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert "00_setup_and_tour.ipynb:" in result.stdout and " current" in result.stdout
    assert result.returncode in (0, 1)


# ------------------------------------------------------------------ the glossary
def test_glossary_is_bilingual_and_points_to_real_notebooks():
    terms = load_glossary()
    assert len(terms) >= 30
    names = {p.stem for p in SOURCES}
    for term in terms:
        assert CJK.search(term.zh) and CJK.search(term.definition_zh), term.en
        assert not CJK.search(term.en + term.definition_en), term.en
        assert term.notebook in names, f"{term.en}: no notebook {term.notebook}"
    required_terms = ("剪枝", "稀疏度", "结构化剪枝", "非结构化剪枝", "半结构化剪枝", "微调", "掩码", "敏感度分析",
                      "彩票假设")
    for required in required_terms:
        assert any(t.zh == required for t in terms), required
    table = glossary_markdown(terms, "zh")
    assert table.count("\n") == len(terms) + 1 and table.startswith("| 中文 | English |")
    with pytest.raises(ValueError, match="must have exactly the fields"):
        parse_glossary({"version": 1, "terms": [{"zh": "剪枝"}]})


def test_the_deck_uses_the_glossary_terms():
    deck = load_deck()
    used = {t.en for card in deck.cards for t in terms_in(card.answer_long_zh + card.answer_long_en)}
    assert len(used) >= 0.7 * len(load_glossary())


# ------------------------------------------------------------------ the Chinese READMEs
def test_chinese_exercises_readme_shows_the_same_check_output():
    def block(text):
        start = text.index("```\na1_dense_layer.ipynb (assignment")
        return text[start:text.index("```", start + 4)]

    english = (ROOT / "exercises" / "README.md").read_text(encoding="utf-8")
    chinese = (ROOT / "exercises" / "README.zh.md").read_text(encoding="utf-8")
    assert block(chinese) == block(english)  # the English one is checked against a real run
    for name in re.findall(r"`(a\d_[a-z_]+\.ipynb)`", english):
        assert f"`{name}`" in chinese


def test_readme_chinese_section_lists_every_twin():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## 中文版", 1)[1].split("\n## ", 1)[0]
    assert "### 快速开始" in section and "### 课程目录" in section
    listed = re.findall(r"^\| `zh/(\d\d_[a-z0-9_]+\.ipynb)` \|", section, re.M)
    assert listed == [p.name for p in SOURCES]
    assert "make lab LAB_LANG=zh" in section and "--mode interview" in section
