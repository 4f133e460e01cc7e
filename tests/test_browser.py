"""The explorer in a real browser: JupyterLab and the Voila app, driven by Chromium.

Debian's Chromium (``apt-get install chromium``) is driven by Playwright's Python API; no
browser is downloaded. Each test starts its own server on 127.0.0.1 with a fresh port, works
on a copy of the notebook (JupyterLab autosaves), saves screenshots under the test's
temporary folder, and stops the server and its kernels at teardown. The browser may only talk
to 127.0.0.1: every other request (Voila's template asks a font CDN) is blocked and recorded.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from adaprune_edu.lab import lab_command
from adaprune_edu.widgets.app import classroom_copy, voila_command

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "08_explorer.ipynb"
DRILL = NOTEBOOK.with_name("09_interview_drill.ipynb")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not Path(CHROMIUM).exists():
    pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium); the browser tests need it",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the Python package playwright is not installed")


# ------------------------------------------------------------------ servers
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    """Poll ``url`` until the server answers (any HTTP status); fail with its log if it dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with code {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:  # an error page is an answer: the server is up
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    pytest.fail(f"no answer from {url} within {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")


def isolated_env(root: Path) -> dict:
    """Environment with Jupyter's config, data, runtime and settings folders inside ``root``."""
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR",
                 "IPYTHONDIR"):
        folder = root / name.lower()
        folder.mkdir(parents=True, exist_ok=True)
        env[name] = str(folder)
    # Render every cell: with JupyterLab's default windowing, cells scrolled out of view are not
    # laid out, and the test would depend on where the notebook happens to be scrolled.
    # And do not ask about news: the question would cover part of the screenshots.
    settings = root / "jupyterlab_settings_dir" / "@jupyterlab"
    for path, value in ((settings / "notebook-extension" / "tracker.jupyterlab-settings", {"windowingMode": "none"}),
                        (settings / "apputils-extension" / "notification.jupyterlab-settings", {"fetchNews": "false"})):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value), encoding="utf-8")
    env["PYTHONHASHSEED"] = "0"
    return env


def stop(process: subprocess.Popen, base_url: str | None = None, token: str | None = None) -> None:
    """Shut the kernels down through the REST API (if given), then stop the server."""
    if base_url is not None and process.poll() is None:
        headers = {"Authorization": f"token {token}"}
        try:
            with urllib.request.urlopen(urllib.request.Request(f"{base_url}/api/kernels", headers=headers),
                                        timeout=5) as response:
                kernels = json.load(response)
            for kernel in kernels:
                request = urllib.request.Request(f"{base_url}/api/kernels/{kernel['id']}", method="DELETE",
                                                 headers=headers)
                urllib.request.urlopen(request, timeout=10).close()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def workdir(tmp_path):
    """Copies of the explorer and drill notebooks, so autosave never touches the repository."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for notebook in (NOTEBOOK, DRILL):
        shutil.copy(notebook, folder / notebook.name)
    return folder


@pytest.fixture
def jupyterlab(workdir, tmp_path):
    port, token = free_port(), secrets.token_hex(16)
    log = tmp_path / "jupyterlab.log"
    extra = ["--no-browser", "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
             "--ServerApp.open_browser=False"]
    with open(log, "w") as handle:
        process = subprocess.Popen(lab_command(workdir, port, extra), stdout=handle, stderr=subprocess.STDOUT,
                                   env=isolated_env(tmp_path / "jupyter"), cwd=workdir)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base_url}/api/status?token={token}", process, log)
        yield base_url, token
    finally:
        stop(process, base_url, token)


@pytest.fixture
def voila_app(workdir, tmp_path):
    port = free_port()
    log = tmp_path / "voila.log"
    with open(log, "w") as handle:
        served = tmp_path / "served"
        served.mkdir()
        page = classroom_copy(workdir / NOTEBOOK.name, served)  # what `adaprune-edu explore` serves
        process = subprocess.Popen(voila_command(page, port=port), stdout=handle,
                                   stderr=subprocess.STDOUT, env=isolated_env(tmp_path / "jupyter"), cwd=served)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/status", process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


# ------------------------------------------------------------------ browser
@pytest.fixture
def browser(tmp_path):
    """A Chromium page that can only reach 127.0.0.1; ``blocked`` lists what it was refused."""
    blocked = []

    def loopback_only(route):
        host = urlparse(route.request.url).hostname
        if host in LOOPBACK or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000})
        context.route("**/*", loopback_only)
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(60_000)
        try:
            yield page, blocked
        except BaseException:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            raise
        finally:
            context.close()


def explorer_state(page):
    """The explorer's readout text and the ``src`` of its plot image (the first widget output image)."""
    readout = page.locator(".adaprune-readout").first.inner_text()
    image = page.locator(".widget-output img").first.get_attribute("src")
    return readout, image


def move_first_slider(page, before):
    """Focus the explorer's sparsity slider, press ArrowRight, wait until readout and image change.

    Returns the new state and the seconds from the key press to the change (printed, never asserted).
    """
    handle = page.locator(".widget-hslider .noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")
    return wait_for_change(page, before, "moving the slider")


def wait_for_change(page, before, action: str):
    """Wait until both the readout and the plot differ from ``before``; return them and the seconds it took."""
    start = time.monotonic()
    while time.monotonic() < start + 30:
        after = explorer_state(page)
        if after[0] != before[0] and after[1] != before[1]:
            return after, time.monotonic() - start
        time.sleep(0.05)
    pytest.fail(f"the readout or the plot did not change after {action}; readout now:\n{after[0]}")


def run_all(page, tmp_path, ready: str = ".widget-hslider .noUi-handle", attempts: int = 3) -> None:
    """Run > Run All Cells, until the ``ready`` selector (default: the explorer's first slider) has rendered.

    Right after a notebook opens, JupyterLab can report an idle kernel whose connection is not
    yet usable; a Run All sent then clears the cells and never executes them. Running all cells
    again is harmless (the notebook is deterministic), so it is retried, with a screenshot.
    """
    for attempt in range(attempts):
        dialog = page.locator(".jp-Dialog")
        if dialog.count():
            page.screenshot(path=str(tmp_path / f"dialog-{attempt}.png"))
            print("JupyterLab showed a dialog:", dialog.first.inner_text()[:300].replace("\n", " | "))
            dialog.locator(".jp-mod-accept").first.click()
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()
        try:
            page.wait_for_selector(ready, state="attached", timeout=30_000)
            return
        except sync_api.TimeoutError:
            page.screenshot(path=str(tmp_path / f"run-all-attempt-{attempt}.png"))
            print(f"Run All attempt {attempt + 1}: no widget after 30 s, trying again")
            page.keyboard.press("Escape")
    pytest.fail(f"Run All did not render {ready!r}; see the screenshots in {tmp_path}")


def test_explorer_in_jupyterlab(jupyterlab, browser, tmp_path):
    base_url, token = jupyterlab
    page, blocked = browser
    start = time.monotonic()
    page.goto(f"{base_url}/lab/tree/{NOTEBOOK.name}?token={token}")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    page.wait_for_selector(".jp-StatusBar-Item:has-text('Idle')")
    run_all(page, tmp_path)
    page.wait_for_selector(".adaprune-replay", state="attached", timeout=90_000)  # the last widget: all cells ran
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
    page.wait_for_selector(".widget-output img")
    page.locator(".adaprune-readout").first.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "jupyterlab-before.png"))
    before = explorer_state(page)
    assert "validation accuracy" in before[0] and before[1].startswith("data:image/png")
    assert page.locator(".widget-readout").first.inner_text().strip() == "0.80"

    after, seconds = move_first_slider(page, before)
    print(f"JupyterLab: slider move to new readout and plot in {seconds:.2f} s")
    page.screenshot(path=str(tmp_path / "jupyterlab-after.png"))
    assert page.locator(".widget-readout").first.inner_text().strip() == "0.81"
    assert "81.0%" in after[0]

    # cut by a |w| threshold instead: the threshold slider replaces the sparsity slider
    page.locator(".widget-dropdown", has_text="cut by").locator("select").select_option(label="|w| threshold")
    after, _ = wait_for_change(page, after, "switching to the |w| threshold")
    assert "cut at |w| <" in after[0]
    threshold = page.locator(".widget-hslider", has_text="threshold |w| <").first
    assert threshold.is_visible() and not page.locator(".widget-hslider", has_text="sparsity").first.is_visible()
    page.screenshot(path=str(tmp_path / "jupyterlab-threshold.png"))
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, errors.first.inner_text()
    assert not [url for url in blocked if "127.0.0.1" in url]
    print(f"JupyterLab: run all, render, a slider move, threshold mode in {time.monotonic() - start:.1f} s")


def test_explorer_as_a_voila_app(voila_app, browser, tmp_path):
    page, blocked = browser
    start = time.monotonic()
    page.goto(voila_app + "/")
    page.wait_for_selector(".adaprune-replay", timeout=90_000)
    page.wait_for_selector(".widget-output img")
    page.screenshot(path=str(tmp_path / "voila-top.png"))  # the title and the original questions
    assert "原题" in page.locator("body").inner_text()
    page.locator(".adaprune-readout").first.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "voila-before.png"))
    before = explorer_state(page)
    assert "validation accuracy" in before[0]
    after, seconds = move_first_slider(page, before)
    print(f"Voila: slider move to new readout and plot in {seconds:.2f} s")
    page.screenshot(path=str(tmp_path / "voila-after.png"))
    assert "81.0%" in after[0]
    assert page.locator("text=Traceback").count() == 0
    assert page.locator("pre:has-text('# NBVAL')").count() == 0  # Voila shows outputs, not code
    print(f"Voila: render and one slider move in {time.monotonic() - start:.1f} s; blocked {len(blocked)} "
          f"non-loopback request(s): {sorted({urlparse(u).hostname for u in blocked})}")


def test_flash_cards_in_jupyterlab(jupyterlab, browser, tmp_path):
    base_url, token = jupyterlab
    page, _ = browser
    page.goto(f"{base_url}/lab/tree/{DRILL.name}?token={token}")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
    page.wait_for_selector(".jp-StatusBar-Item:has-text('Idle')")
    run_all(page, tmp_path, ready=".jupyter-button:has-text('Reveal')")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    reveal = page.locator(".jupyter-button", has_text="Reveal").first
    known = page.locator(".jupyter-button", has_text="Known").first
    card = reveal.locator("xpath=ancestor::div[contains(@class, 'widget-vbox')][1]")
    reveal.scroll_into_view_if_needed()
    assert "card 1 of 10" in card.inner_text() and "Short answer" not in card.inner_text()
    question = card.inner_text()
    page.screenshot(path=str(tmp_path / "flashcards-question.png"))
    reveal.click()
    page.wait_for_function("el => el.innerText.includes('Short answer')", arg=card.element_handle())
    assert "简答" in card.inner_text() and reveal.is_disabled()
    page.screenshot(path=str(tmp_path / "flashcards-answer.png"))
    known.click()
    page.wait_for_function("el => el.innerText.includes('card 2 of 10')", arg=card.element_handle())
    assert card.inner_text() != question and "Short answer" not in card.inner_text()
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, errors.first.inner_text()
