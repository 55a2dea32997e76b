"""A headless Chromium from the system's packages, driven by Selenium, that can reach
nothing but loopback (every other address goes to a proxy that refuses)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def headless_chromium() -> Iterator[object]:
    """A Selenium WebDriver on the system's Chromium; skips the test, saying why, where
    Selenium, Chromium or its driver is missing."""
    webdriver = pytest.importorskip("selenium.webdriver",
                                    reason="selenium is a test dependency")
    if CHROMEDRIVER is None or CHROMIUM is None:
        pytest.skip("the system's chromium and chromium-driver are not installed "
                    "(scripts/setup.sh --test installs them with apt)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--disable-gpu", "--window-size=1280,900",
                 "--proxy-server=http://127.0.0.1:9",  # loopback bypasses proxies
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium refuses its sandbox as root
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def loaded_from(driver, origin: str) -> list[str]:
    """Every resource the current page loaded that did not come from ``origin``."""
    names = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".concat([location.href])")
    return [name for name in names if not name.startswith(origin)
            and not name.startswith("data:")]
