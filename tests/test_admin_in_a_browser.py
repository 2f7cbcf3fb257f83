"""The dashboard as an operator uses it: Debian's Chromium, driven by Selenium, against the live
server, with real executions, a real worker cluster for re-runs and the real API.

One browser serves the whole module. Every page's network requests are read from Chrome's
performance log and must all go to the server's own origin; screenshots are saved under
``var/test-artifacts/admin-browser/`` (gitignored; the path is printed).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from execution.models import Job, JobStatus
from execution_project.settings import embedded_cache
from registry import services as registry_services
from registry.models import PluginRegistry
from tests import images
from tests.conftest import b64
from tests.execution.cluster import qcluster, wait_for
from tests.helpers import client_for

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

from selenium import webdriver  # noqa: E402  (only once the browser is known to be there)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("synced_registry")]

ARTIFACTS = Path(__file__).resolve().parents[1] / "var" / "test-artifacts" / "admin-browser"
PASSWORD = "operator-password-1"
WIDTH = 1400
IMPLICIT_WAIT = 5


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or "chromium"
    # No screen, no network beyond this machine, no profile from an earlier run.
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},1000",
    ):
        options.add_argument(flag)
    # The performance log carries every network request the pages make.
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER or "chromedriver"), options=options)
    driver.implicitly_wait(IMPLICIT_WAIT)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {ARTIFACTS}")
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: WebDriver, live_server: Any) -> Iterator[Page]:
    """The browser, logged out, its request log emptied; at the end every request it made must
    have gone to the live server."""
    browser.delete_all_cookies()
    browser.get_log("performance")
    driven = Page(browser, live_server.url)
    yield driven
    driven.assert_requests_stay_on_the_origin()


class Page:
    def __init__(self, browser: WebDriver, origin: str) -> None:
        self.browser, self.origin = browser, origin
        self.requested: list[str] = []

    def open(self, path: str) -> None:
        self.browser.get(f"{self.origin}{path}")

    def log_in(self, username: str) -> None:
        self.open("/admin/login/?next=/admin/")
        self.browser.find_element(By.NAME, "username").send_keys(username)
        self.browser.find_element(By.NAME, "password").send_keys(PASSWORD)
        self.browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
        assert self.browser.find_element(By.ID, "user-tools").text.startswith("WELCOME")

    def text(self, css: str) -> str:
        return str(self.browser.find_element(By.CSS_SELECTOR, css).text)

    def absent(self, css: str) -> bool:
        """Nothing on the loaded page matches ``css`` (asked without the implicit wait)."""
        self.browser.implicitly_wait(0)
        try:
            return self.browser.find_elements(By.CSS_SELECTOR, css) == []
        finally:
            self.browser.implicitly_wait(IMPLICIT_WAIT)

    def cells(self, row_css_or_xpath: str) -> list[str]:
        row = self.browser.find_element(By.XPATH, row_css_or_xpath)
        return [cell.text for cell in row.find_elements(By.CSS_SELECTOR, "td, th")]

    def run_action(self, action: str, *pks: Any) -> None:
        for pk in pks:
            self.browser.find_element(
                By.CSS_SELECTOR, f"input[name=_selected_action][value='{pk}']"
            ).click()
        Select(self.browser.find_element(By.NAME, "action")).select_by_value(action)
        self.browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()

    def screenshot(self, name: str) -> None:
        path = ARTIFACTS / f"{name}.png"
        self.browser.save_screenshot(str(path))
        print(f"screenshot: {path}")

    def assert_requests_stay_on_the_origin(self) -> None:
        for entry in self.browser.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                self.requested.append(message["params"]["request"]["url"])
        assert self.requested, "the performance log recorded no request"
        # data: URLs (the admin's inline icons) never leave the page.
        elsewhere = [
            url
            for url in self.requested
            if not url.startswith(f"{self.origin}/") and not url.startswith("data:")
        ]
        assert elsewhere == []


def staff(username: str, *, superuser: bool = True) -> Any:
    users = get_user_model().objects
    if superuser:
        return users.create_superuser(username, password=PASSWORD)
    return users.create_user(username, password=PASSWORD, is_staff=True)


def execute(
    client: APIClient, plugin: str, image: bytes | str, mime_type: str = "image/png"
) -> Any:
    body = {"plugin": plugin, "image": b64(image) if isinstance(image, bytes) else image}
    return client.post("/v1/analyze-execution", {**body, "mime_type": mime_type}, format="json")


@pytest.fixture
def executions(user: Any) -> dict[str, int]:
    """Real executions through the API: 3 successes, 1 plugin fault, 1 refused input."""
    client = client_for(user)
    for _ in range(3):
        assert execute(client, "image-metadata", images.small_png()).status_code == 200
    assert execute(client, "test-raises", images.small_png()).status_code == 400
    assert execute(client, "image-metadata", "not base64 !").status_code == 400
    return {"executions": 5, "success": 3, "plugin_fault": 1, "input_refused": 1}


def test_index_shows_the_totals_a_few_executions_just_produced(
    page: Page, executions: dict[str, int]
) -> None:
    staff("ops")
    page.log_in("ops")

    page.open("/admin/")

    for window in ("hour", "day"):
        cells = page.cells(f"//tr[@id='window-{window}']")
        # window, executions, successes, faults, refused, failure rate, p50, p95
        assert cells[1:6] == ["5", "3", "1", "1", "25.0 %"]
        assert cells[6].endswith(" ms")
        assert cells[7].endswith(" ms")
    assert "test-raises" in page.text("#overview-plugins")  # FAILED after its fault
    assert page.cells("//tr[@id='queue-PENDING']")[1] == "0"
    page.screenshot("index")


def test_plugin_list_reads_states_counts_and_p95_within_1400_px(
    page: Page, executions: dict[str, int]
) -> None:
    staff("ops")
    page.log_in("ops")

    page.open("/admin/registry/pluginregistry/")

    cells = page.cells("//tr[.//a[text()='image-metadata']]")
    # checkbox, name, state, version, successes, faults, refused, rate, p50, p95, last, used, op
    assert cells[1] == "image-metadata"
    assert cells[2].split("\n")[0] in {"INITIALIZED", "LOADED"}
    assert cells[4:8] == ["3", "0", "1", "0.0 %"]
    assert cells[9].endswith(" ms")
    assert cells[11] == "just now"
    raises = page.cells("//tr[.//a[text()='test-raises']]")
    assert raises[2].startswith("FAILED")
    assert raises[4:8] == ["0", "1", "0", "100.0 %"]
    # Unhealthy first, and nothing cut off or scrolled sideways at 1400 px.
    names = [link.text for link in page.browser.find_elements(By.CSS_SELECTOR, "th.field-name a")]
    assert names.index("test-raises") < names.index("image-metadata")
    widths = page.browser.execute_script(
        "const r = document.querySelector('#changelist .results');"
        "return [document.documentElement.scrollWidth, r.scrollWidth, r.clientWidth];"
    )
    assert widths[0] <= WIDTH
    assert widths[1] <= widths[2]  # the table needs no scrollbar of its own
    page.screenshot("plugin-list")


def test_plugin_page_draws_both_charts(page: Page, executions: dict[str, int]) -> None:
    staff("ops")
    page.log_in("ops")
    plugin = PluginRegistry.objects.get(name="image-metadata")

    page.open(f"/admin/registry/pluginregistry/{plugin.pk}/change/")

    bars = page.browser.find_elements(By.CSS_SELECTOR, "svg.chart-executions rect.bar")
    assert {bar.get_attribute("class") for bar in bars} == {"bar success", "bar input_refused"}
    assert all(bar.size["height"] > 0 for bar in bars)
    points = page.browser.find_elements(By.CSS_SELECTOR, "svg.chart-latency circle.point")
    assert {point.get_attribute("class") for point in points} == {"point p50", "point p95"}
    for chart in ("svg.chart-executions", "svg.chart-latency"):
        drawn = page.browser.find_element(By.CSS_SELECTOR, chart)
        assert drawn.is_displayed()
        assert drawn.size["width"] >= 600  # drawn at its own size, not squashed
    recent = page.browser.find_elements(By.CSS_SELECTOR, ".recent-jobs tbody tr")
    assert sorted(row.text.split()[1] for row in recent) == [
        "FAILED",
        "SUCCESS",
        "SUCCESS",
        "SUCCESS",
    ]
    page.browser.execute_script("arguments[0].scrollIntoView()", bars[0])
    page.screenshot("plugin-page")


def test_a_failed_job_shows_its_envelope_and_its_rerun_succeeds_on_a_worker(
    page: Page,
    user: Any,
    settings: Any,
    server_env: Callable[..., dict[str, str]],
    tmp_path: Path,
) -> None:
    # The cluster's Stat reaches this process through a cache they share.
    var_dir = tmp_path / "var"
    settings.CACHES = {"default": embedded_cache(var_dir)}
    client = client_for(user)
    response = client.post(
        "/v1/analyze-execution/async",
        {"plugin": "image-metadata", "image": b64(images.small_png()), "mime_type": "image/png"},
        format="json",
    )
    failed_id = response.json()["job_id"]
    # Disabled before any worker runs it: the worker refuses it, and its image is kept.
    plugin = PluginRegistry.objects.get(name="image-metadata")
    registry_services.plugin_disable(plugin=plugin, by="ops", reason="before the rerun")
    with ExitStack() as running:
        running.enter_context(
            qcluster(
                env=server_env(workers=1, var_dir=var_dir),
                log_path=tmp_path / "qcluster.log",
            )
        )
        wait_for(
            lambda: Job.objects.filter(pk=failed_id, status=JobStatus.FAILED).exists(),
            timeout=30,
            what="the worker to fail the job",
        )
        registry_services.plugin_enable(plugin=plugin)
        staff("ops")
        page.log_in("ops")

        page.open(f"/admin/execution/job/{failed_id}/change/")
        envelope = json.loads(page.text(".field-envelope_json pre"))
        assert envelope["error"]["code"] == "PLUGIN_UNAVAILABLE"
        assert envelope["error"]["job_id"] == failed_id
        thumbnail = page.browser.find_element(By.CSS_SELECTOR, "img.thumbnail")
        assert page.browser.execute_script("return arguments[0].naturalWidth", thumbnail) == 8
        page.browser.execute_script("arguments[0].scrollIntoView()", thumbnail)
        page.screenshot("failed-job")

        page.open("/admin/execution/failedjob/")
        page.run_action("rerun_jobs", failed_id)
        page.browser.find_element(By.CSS_SELECTOR, ".messagelist .success a").click()

        def rerun_succeeded() -> bool:
            page.browser.refresh()
            return page.text(".field-status_badge .readonly") == "SUCCESS"

        wait_for(rerun_succeeded, timeout=30, interval=0.5, what="the re-run to succeed")
        assert page.text(".field-rerun_of_link .readonly") == failed_id
        rerun = Job.objects.get(rerun_of_id=failed_id)
        assert rerun.result is not None
        assert rerun.result["width"] == 8
        page.screenshot("rerun-succeeded")

        page.open("/admin/")
        assert "1 worker" in page.text("#overview-cluster")
    assert Job.objects.get(pk=failed_id).status == JobStatus.FAILED  # left as it was


def test_a_plugin_disabled_in_the_browser_is_refused_by_the_api(page: Page, user: Any) -> None:
    staff("ops")
    page.log_in("ops")
    plugin = PluginRegistry.objects.get(name="image-metadata")

    page.open("/admin/registry/pluginregistry/")
    page.run_action("disable_plugins", plugin.pk)
    page.browser.find_element(By.ID, "id_reason").send_keys("bad release")
    page.browser.find_element(By.CSS_SELECTOR, "#disable-form input[type=submit]").click()

    cells = page.cells("//tr[.//a[text()='image-metadata']]")
    assert cells[2] == (
        "UNAVAILABLE\ndisabled by an operator\ndisabled by an operator (ops: bad release)"
    )
    page.screenshot("plugin-disabled")
    response = execute(client_for(user), "image-metadata", images.small_png())
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "PLUGIN_UNAVAILABLE"
    assert "ops: bad release" in error["message"]


def test_a_read_only_operator_finds_no_action_anywhere(page: Page, user: Any) -> None:
    if not Group.objects.filter(name="operators").exists():
        # A transactional test empties the tables the migration filled; make the group again.
        migration = importlib.import_module("execution.migrations.0003_operators_group")
        migration.create_operators_group(django_apps, None)
    operator = staff("watcher", superuser=False)
    operator.groups.add(Group.objects.get(name="operators"))
    failed = Job.objects.create(plugin="ocr", mode="SYNC", status=JobStatus.FAILED, error_code="X")
    plugin = PluginRegistry.objects.get(name="ocr")
    page.log_in("watcher")

    for path in (
        "/admin/registry/pluginregistry/",
        "/admin/execution/job/",
        "/admin/execution/failedjob/",
        f"/admin/execution/job/{failed.pk}/change/",
        f"/admin/registry/pluginregistry/{plugin.pk}/change/",
    ):
        page.open(path)
        assert page.absent("[name=action]")
        assert page.absent("[name=_save]")
        assert page.absent("input[name=_selected_action]")
        assert page.absent("#disable-form")
    page.open("/admin/")
    assert "Plugins" in page.text("#content-main")
    page.screenshot("operator")
