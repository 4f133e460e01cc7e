"""A Chinese notebook opened in JupyterLab in Chromium: the Chinese markdown renders (screenshots kept)."""
from __future__ import annotations

import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from adaprune_edu.lab import lab_command

browser_tests = pytest.importorskip("test_browser", reason="the browser helpers of tests/test_browser.py")
browser = browser_tests.browser  # the loopback-only Chromium page fixture
pytestmark = [pytest.mark.browser, pytest.mark.slow]
TWIN = Path(__file__).resolve().parents[1] / "notebooks" / "zh" / "00_setup_and_tour.ipynb"


@pytest.fixture
def chinese_lab(tmp_path):
    folder = tmp_path / "zh"
    folder.mkdir()
    shutil.copy(TWIN, folder / TWIN.name)
    port, token = browser_tests.free_port(), secrets.token_hex(16)
    log = tmp_path / "jupyterlab.log"
    extra = ["--no-browser", "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}"]
    with open(log, "w") as handle:
        process = subprocess.Popen(lab_command(folder, port, extra), stdout=handle, stderr=subprocess.STDOUT,
                                   env=browser_tests.isolated_env(tmp_path / "jupyter"), cwd=folder)
    base_url = f"http://127.0.0.1:{port}"
    try:
        browser_tests.wait_for_http(f"{base_url}/api/status?token={token}", process, log)
        yield base_url, token
    finally:
        browser_tests.stop(process, base_url, token)


def test_a_chinese_notebook_renders_in_jupyterlab(chinese_lab, browser, tmp_path):
    base_url, token = chinese_lab
    page, _ = browser
    page.goto(f"{base_url}/lab/tree/{TWIN.name}?token={token}")
    heading = page.locator(".jp-RenderedMarkdown h1").first
    heading.wait_for()
    assert "准备与导览" in heading.inner_text()
    text = page.locator(".jp-RenderedMarkdown").first.inner_text()
    assert "学完本节，你将能够" in text and "梯度检验（gradient check）" in text
    # whether the glyphs are drawn by a CJK font (fonts-noto-cjk) or as boxes shows in the screenshot
    page.screenshot(path=str(tmp_path / "zh-notebook.png"))
