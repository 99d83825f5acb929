"""The dashboard in a real headless Chromium (Debian's chromium and chromedriver, via Selenium).

The dashboard runs as `aiguillage dashboard` in its own process on 127.0.0.1 (a free port); the
browser refuses a wrong password, logs in, shows the charts, downloads a CSV. Screenshots go to
the test's folder, and to `docs/dashboard/` when AIGUILLAGE_SCREENSHOTS names that folder:

    AIGUILLAGE_SCREENSHOTS=docs/dashboard .venv/bin/pytest tests/test_dashboard_browser.py
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import selectors
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver, WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from tests.dashboard_helpers import LOGIN, PASSWORD, new_database, seed_demo

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=fr-FR",
    "--window-size=1280,900",
]


@pytest.fixture
def dashboard_url(tmp_path: Path) -> Iterator[str]:
    """`aiguillage dashboard` on a demo month, in its own process; stopped at the end."""
    db = asyncio.run(new_database(tmp_path / "demo.db"))
    seed_demo(db, dt.datetime.now(dt.UTC).date())
    hashed = subprocess.run(
        [sys.executable, "-m", "bot", "dashboard", "--hash-password"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.strip()
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: {db}\ndashboard:\n  admins:\n"
        f'    - login: {LOGIN}\n      password_hash: "{hashed}"\n',
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "dashboard", "--config", str(config), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        yield _announced_url(process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _announced_url(process: subprocess.Popen[str], timeout: float = 60.0) -> str:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if selector.select(timeout=1):
            line = process.stdout.readline()
            found = re.search(r"http://127\.0\.0\.1:\d+/", line)
            if found:
                return found.group(0).rstrip("/")
            if not line:
                break
    stderr = process.stderr.read() if process.stderr and process.poll() is not None else ""
    raise AssertionError(f"the dashboard did not start: {stderr}")


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebDriver]:
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager never downloads anything
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Chromium manque : lancez scripts/browser.sh (chromium, chromium-driver)")
    downloads = tmp_path / "telechargements"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profil'}")
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "intl.accept_languages": "fr-FR,fr",
        },
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: WebDriver, folder: Path, name: str) -> None:
    """A full-page PNG in the test's folder, copied to AIGUILLAGE_SCREENSHOTS if set."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(int(height) + 40, 700), 4000))
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 900)
    target = os.environ.get("AIGUILLAGE_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


def log_in(driver: WebDriver, password: str) -> None:
    """Fill the login form, send it, and wait until the next page has replaced this one."""
    driver.find_element(By.NAME, "identifiant").clear()
    driver.find_element(By.NAME, "identifiant").send_keys(LOGIN)
    driver.find_element(By.NAME, "mot_de_passe").send_keys(password)
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, ".connexion button[type=submit]").click()
    WebDriverWait(driver, 30).until(lambda _: _replaced(page))


def _replaced(element: WebElement) -> bool:
    """Whether the page holding `element` was replaced. Chromium reports a node of the old
    document either as stale or, while the new one loads, as "does not belong to the
    document" (a plain WebDriverException): both mean it is gone."""
    try:
        element.is_enabled()
    except WebDriverException:  # StaleElementReferenceException included
        return True
    return False


def shown(driver: WebDriver, css: str) -> WebElement:
    """The element, once the page being loaded has it."""
    located = expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
    element: WebElement = WebDriverWait(driver, 30).until(located)
    return element


def downloaded(folder: Path, timeout: float = 20.0) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.iterdir() if p.suffix == ".csv"]
        if done:
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"nothing downloaded in {folder}: {list(folder.iterdir())}")


def test_an_admin_uses_the_dashboard_in_chromium(
    dashboard_url: str, browser: WebDriver, tmp_path: Path
) -> None:
    browser.get(dashboard_url + "/")
    assert browser.current_url.startswith(dashboard_url + "/connexion")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Connexion"
    screenshot(browser, tmp_path, "connexion")

    log_in(browser, "pas le bon mot de passe")
    refused = shown(browser, ".message.erreur").text
    assert "Identifiant ou mot de passe incorrect" in refused
    assert browser.find_elements(By.CSS_SELECTOR, "svg.graphique") == []
    screenshot(browser, tmp_path, "connexion-refusee")

    log_in(browser, PASSWORD)
    assert shown(browser, "h1").text.startswith("Chiffres")
    shown(browser, "footer")  # the whole page is there
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.graphique")
    assert len(charts) == 5 and all(c.is_displayed() for c in charts)
    assert charts[0].size["width"] > 600 and charts[0].size["height"] > 150
    assert len(charts[0].find_elements(By.CSS_SELECTOR, "rect")) == 30  # one column a day
    people = browser.find_element(By.XPATH, "//dt[.='Personnes']/following-sibling::dd").text
    assert int(people.replace("\u202f", "")) > 0
    screenshot(browser, tmp_path, "chiffres")

    link = browser.find_element(By.CSS_SELECTOR, 'a.csv[href^="/export/besoins.csv"]')
    link.click()
    csv = downloaded(tmp_path / "telechargements")
    assert csv.name.startswith("aiguillage-besoins-")
    content = csv.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    assert content.decode("utf-8-sig").startswith("Besoin;Personnes;Résultats montrés\r\n")

    browser.get(dashboard_url + "/questions")
    assert browser.find_elements(By.CSS_SELECTOR, "li.question")
    assert "<script>" in browser.find_element(By.CSS_SELECTOR, "ol.questions").text  # as text
    screenshot(browser, tmp_path, "questions")
    browser.get(dashboard_url + "/rappels")
    assert browser.find_elements(By.CSS_SELECTOR, "svg.graphique")
    screenshot(browser, tmp_path, "rappels")

    problems = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not [p for p in problems if "Content Security Policy" in p], problems
