"""Headless Chromium (Debian's package, driven by Playwright) logged in to the admin of the integration stack.

Playwright's own browser downloads are never used: the browser is the system's /usr/bin/chromium, which
scripts/test.sh installs when it is missing. Screenshots go to a folder printed at the end of the session
(AGENTPLATFORM_SCREENSHOTS names one; default: a new temporary folder).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.stack import ROOT

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
USERNAME, PASSWORD = "operator", "operator-password"
_screenshots: list[Path] = []


def pytest_terminal_summary(terminalreporter) -> None:
    for folder in _screenshots:
        terminalreporter.write_line(f"admin screenshots: {folder}")


@pytest.fixture(scope="session")
def screenshots() -> Path:
    named = os.environ.get("AGENTPLATFORM_SCREENSHOTS")
    folder = Path(named) if named else Path(tempfile.mkdtemp(prefix="agentplatform-admin-screenshots-"))
    folder.mkdir(parents=True, exist_ok=True)
    _screenshots.append(folder)
    print(f"admin screenshots: {folder}")
    return folder


@pytest.fixture(scope="session")
def superuser(stack) -> tuple[str, str]:
    env = stack.env({"DJANGO_SUPERUSER_PASSWORD": PASSWORD})
    command = [sys.executable, "manage.py", "createsuperuser", "--noinput", "--username", USERNAME, "--email", "o@x.io"]
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return USERNAME, PASSWORD


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: scripts/test.sh installs Debian's chromium (or: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def admin_page(browser, stack, superuser):
    """A page logged in through the admin's own login form."""
    context = browser.new_context(base_url=stack.url, viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", superuser[0])
    page.fill("#id_password", superuser[1])
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    yield page
    context.close()
