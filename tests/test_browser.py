"""The widget player of notebook 05 in a real browser: JupyterLab headless, Chromium driven by
Selenium, the notebook run from the Run menu, a screenshot of the player, and the frame slider
moved by keyboard — the image must change, which only a live kernel answering the widget can do.

Runs with ``make browser-test`` (Debian's ``chromium`` and ``chromium-driver``, the ``selenium``
package; no browser is downloaded at run time). Elsewhere it is skipped. The screenshots are
written to ``$CMDKIT_BROWSER_OUT`` (default ``runs/browser-test``): ``player.png`` after the
run, ``player_frame3.png`` after the slider moved, ``lab.png`` the whole window.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    os.environ.get("CMDKIT_BROWSER_TEST") != "1" or not (CHROMIUM and DRIVER),
    reason="browser test: `make browser-test` (needs chromium, chromium-driver and selenium)")

REPO = Path(__file__).resolve().parents[1]
TOKEN = "cmdkit-browser-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def out() -> Path:
    folder = Path(os.environ.get("CMDKIT_BROWSER_OUT", REPO / "runs" / "browser-test"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def notebook_05(out, tmp_path_factory):
    """Notebooks 01–04 trained briefly (about 4 minutes; ``CMDKIT_BROWSER_REUSE=1`` keeps the last
    such run), and a copy of 05 whose parameters point at that run."""
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    from cmdkit.runner import run_series

    run_dir = out / "run"
    if not (os.environ.get("CMDKIT_BROWSER_REUSE") == "1" and (run_dir / "04_motion" / "metrics.json").exists()):
        shutil.rmtree(run_dir, ignore_errors=True)
        results = run_series(run_dir, {"preset": "smoke", "seed": 0, "train_steps": 20, "sampling_steps": 5},
                             only=["01", "02", "03", "04"], echo=lambda *_: None)
        assert all(r.status == "ok" for r in results), [r.error for r in results]
    notebook = load_notebook_node(str(REPO / "notebooks" / "05_pipeline.ipynb"))  # papermill's reader adds tags
    notebook = parameterize_notebook(notebook, {"run_dir": str(run_dir.resolve()), "content_steps": 5,
                                                "motion_steps": 5})
    folder = tmp_path_factory.mktemp("browser") / "notebooks"
    folder.mkdir()
    nbformat.write(notebook, folder / "05_pipeline.ipynb")
    return folder


@pytest.fixture(scope="module")
def lab(notebook_05, out):
    port = _free_port()
    log = open(out / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={notebook_05}", "--ServerApp.ip=127.0.0.1"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(REPO)})
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.terminate()
        pytest.fail(f"JupyterLab did not start: see {out / 'jupyterlab.log'}")
    yield url
    server.terminate()
    server.wait(timeout=30)
    log.close()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1400"):
        options.add_argument(argument)
    options.binary_location = CHROMIUM
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def _click_menu(driver, menu: str, item: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.XPATH, f"//div[contains(@class, 'lm-MenuBar-itemLabel') and text()='{menu}']").click()
    driver.find_element(By.XPATH, f"//div[contains(@class, 'lm-Menu-itemLabel') and text()='{item}']").click()


def test_player_shows_a_frame_and_the_slider_moves_it(lab, browser, out):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{lab}/lab/tree/05_pipeline.ipynb?token={TOKEN}")
    WebDriverWait(browser, 120).until(ready.presence_of_element_located((By.CSS_SELECTOR, ".jp-Notebook")))
    WebDriverWait(browser, 120).until(  # the kernel has started
        lambda d: d.find_elements(By.XPATH, "//*[contains(@class, 'jp-Notebook-ExecutionIndicator') and "
                                            "@data-status='idle']"))
    time.sleep(5)  # the indicator reads idle a moment before the kernel's channels are connected
    for no in browser.find_elements(By.XPATH, "//button[normalize-space(.)='No']"):  # JupyterLab's news prompt
        no.click()
    browser.save_screenshot(str(out / "lab_opened.png"))
    _click_menu(browser, "Run", "Run All Cells")
    try:
        player = WebDriverWait(browser, 600).until(
            ready.presence_of_element_located((By.CSS_SELECTOR, ".jp-OutputArea img.widget-image")))
    finally:  # what the window showed, found or not
        browser.save_screenshot(str(out / "lab_after_run.png"))
    WebDriverWait(browser, 60).until(lambda d: player.get_attribute("src"))
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", player)
    box = player.find_element(By.XPATH, "ancestor::div[contains(@class, 'widget-vbox')][1]")
    box.screenshot(str(out / "player.png"))
    browser.save_screenshot(str(out / "lab.png"))

    labels = {e.text for e in box.find_elements(By.CSS_SELECTOR, ".widget-label, label")}
    assert {"prompt", "seed", "content s", "motion s", "frame"} <= labels, labels
    prompt = box.find_element(By.CSS_SELECTOR, "input[type='text']")
    assert "moves" in prompt.get_attribute("value")  # the prompt the notebook passed in

    first = player.get_attribute("src")
    frame_slider = box.find_element(
        By.XPATH, ".//div[contains(@class, 'widget-slider')][.//*[normalize-space(text())='frame']]")
    handle = frame_slider.find_element(By.CSS_SELECTOR, ".noUi-handle")
    handle.click()
    handle.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
    WebDriverWait(browser, 30).until(lambda d: player.get_attribute("src") != first)
    box.screenshot(str(out / "player_frame3.png"))
    value = frame_slider.find_element(By.CSS_SELECTOR, ".widget-readout").text
    assert value.strip() == "3", value
