"""Swagger UI as a newcomer uses it, in a real Chromium: authorize with the API token, "Try it
out" on the sync analysis, and execute what the page fills in, as JSON and as a multipart form
with only a file chosen. Both must succeed: a page whose own defaults fail teaches nothing and
counts failures against a plugin."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from tests.docs.markdown import REPO_ROOT
from tests.test_admin_in_a_browser import browser  # the same Chromium, skipped the same way

__all__ = ["browser"]

QR_CODE = REPO_ROOT / "samples" / "qr-code.png"


def _execute(operation: Any) -> tuple[str, str]:
    """Press Execute; the live response's status and body, once they are shown."""
    from selenium.webdriver.common.by import By

    operation.find_element(By.CSS_SELECTOR, "button.execute").click()
    body = operation.find_element(By.CSS_SELECTOR, ".live-responses-table .microlight")
    # The table's first status cell is its header ("Code").
    status = operation.find_elements(
        By.CSS_SELECTOR, ".live-responses-table td.response-col_status"
    )
    return status[-1].text.strip(), body.text


@pytest.mark.django_db(transaction=True)
def test_try_it_out_succeeds_with_what_swagger_ui_fills_in(
    browser: Any, live_server: Any, synced_registry: None
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    user = get_user_model().objects.create_user("newcomer")
    token = Token.objects.create(user=user).key
    browser.get(f"{live_server.url}/api/docs/")

    browser.find_element(By.CSS_SELECTOR, "button.authorize").click()
    (scheme,) = [
        box
        for box in browser.find_elements(By.CSS_SELECTOR, ".modal-ux .auth-container")
        if "tokenAuth" in box.text
    ]
    scheme.find_element(By.CSS_SELECTOR, "input[type=text]").send_keys(f"Token {token}")
    scheme.find_element(By.CSS_SELECTOR, "button.authorize").click()
    # One "Close" per scheme, each closing the dialog.
    next(
        button
        for button in browser.find_elements(By.CSS_SELECTOR, ".modal-ux button")
        if button.is_displayed() and button.text.strip() == "Close"
    ).click()

    (operation,) = [
        block
        for block in browser.find_elements(By.CSS_SELECTOR, ".opblock")
        if (block.get_attribute("id") or "").endswith("-analyze_execution")
    ]
    operation.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    operation.find_element(By.CSS_SELECTOR, ".try-out__btn").click()

    # JSON: the request example, as the page shows it.
    status, body = _execute(operation)
    assert status == "200", body
    assert '"status": "SUCCESS"' in body
    assert "https://example.org/governed" in body

    # Multipart: the page's own values in every field, a file chosen, nothing typed.
    operation.find_element(By.CSS_SELECTOR, ".btn-clear").click()
    content_type = operation.find_element(By.CSS_SELECTOR, ".opblock-section-request-body select")
    Select(content_type).select_by_visible_text("multipart/form-data")
    fields = operation.find_elements(By.CSS_SELECTOR, ".opblock-section-request-body input")
    filled = [
        field.get_attribute("value") for field in fields if field.get_attribute("type") == "text"
    ]
    assert "string" not in filled  # Swagger UI's placeholder, where a field has no default
    operation.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(QR_CODE))
    status, body = _execute(operation)
    assert status == "200", body
    assert "https://example.org/governed" in body
