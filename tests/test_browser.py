"""What the server sends a real browser (the system's headless Chromium, no network
beyond loopback): the API description page, and the headers every answer carries."""

from __future__ import annotations

import pytest
from browser import headless_chromium, loaded_from

httpx = pytest.importorskip("httpx", reason="httpx is a test dependency")
from server import running_server  # noqa: E402


@pytest.fixture(scope="module")
def server(model_paths, tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("web") / "db") as running:
        yield running


def test_api_description_renders_offline(server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    with headless_chromium() as driver:
        driver.get(f"{server.url}/docs")
        WebDriverWait(driver, 30).until(ready.presence_of_element_located(
            (By.CSS_SELECTOR, ".swagger-ui .opblock-summary-path")))
        assert "facerec" in driver.find_element(By.CSS_SELECTOR, ".swagger-ui .title").text
        paths = {e.text.replace("\u200b", "") for e in driver.find_elements(
            By.CSS_SELECTOR, ".opblock-summary-path")}
        assert "/v1/identify" in paths and "/v1/clusters" in paths
        assert loaded_from(driver, server.url) == []


def test_every_answer_carries_security_headers(server):
    for path in ("/v1/health", "/docs", "/openapi.json", "/v1/nothing-here"):
        headers = httpx.get(f"{server.url}{path}", timeout=30).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert httpx.get(f"{server.url}/v1/health").headers["content-security-policy"] \
        .startswith("default-src 'none'")
