"""The admin as an operator sees it: a real Chromium logs in and reads the plugin dashboard."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from execution.models import Job, JobMode, JobStatus
from registry.models import PluginRegistry

# Debian's Chromium, or the Google Chrome that CI runner images ship.
CHROMIUM = (
    shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
)
CHROMEDRIVER = shutil.which("chromedriver")

if not (CHROMIUM and CHROMEDRIVER) and os.environ.get("CI") != "true":
    pytest.skip(
        "Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or "chromium"
    # The machine has no screen and no network beyond localhost.
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER or "chromedriver"), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


@pytest.mark.django_db(transaction=True)
def test_operator_logs_in_and_sees_plugin_metrics_and_a_failed_job(
    browser: Any, live_server: Any, synced_registry: None
) -> None:
    from selenium.webdriver.common.by import By

    get_user_model().objects.create_superuser("ops", password="operator-password-1")
    PluginRegistry.objects.filter(name="face-detection").update(
        success_count=12, plugin_fault_count=3, total_execution_time_ms=300.0, state="FAILED"
    )
    job = Job.objects.create(
        plugin="face-detection",
        mode=JobMode.ASYNC,
        status=JobStatus.FAILED,
        error_code="WORKER_LOST",
        error_traceback="worker 4242 stopped",
    )

    browser.get(f"{live_server.url}/admin/login/?next=/admin/registry/pluginregistry/")
    browser.find_element(By.NAME, "username").send_keys("ops")
    browser.find_element(By.NAME, "password").send_keys("operator-password-1")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()

    row = browser.find_element(By.XPATH, "//tr[.//a[text()='face-detection']]")
    cells = [cell.text for cell in row.find_elements(By.CSS_SELECTOR, "td, th")]
    assert "FAILED" in cells
    assert "12" in cells
    assert "3" in cells
    assert "20.0" in cells  # 300 ms over 15 executions

    browser.get(f"{live_server.url}/admin/execution/failedjob/")
    browser.find_element(By.LINK_TEXT, str(job.pk)).click()
    assert "worker 4242 stopped" in browser.find_element(By.TAG_NAME, "pre").text
