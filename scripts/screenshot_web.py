"""Screenshots of the web page's main views, from the sample photos only, for the docs.

Starts ``facerec serve`` on a fresh database in a temporary folder with the sample photos
scanned into its library, enrolls the sample photos of Obama and Biden through the page,
identifies another sample photo, finds photos by the people in them, and saves
``docs/images/web-<view>.png``. Needs the system's Chromium and chromedriver (installed
by ``scripts/setup.sh --test``).

    python scripts/screenshot_web.py
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from facerec.photos.samples import default_dir

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "images"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browser(size: tuple[int, int]) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu",
                 f"--window-size={size[0]},{size[1]}", "--proxy-server=http://127.0.0.1:9"):
        options.add_argument(flag)
    return webdriver.Chrome(options=options,
                            service=webdriver.ChromeService(shutil.which("chromedriver")))


def texts(driver: webdriver.Chrome, selector: str) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent)",
        selector)


def main() -> int:
    samples = default_dir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "facerec", "scan", str(samples), "--db",
                        f"{tmp}/db", "--device", "cpu"], check=True, stdout=subprocess.DEVNULL)
        server = subprocess.Popen([sys.executable, "-m", "facerec", "serve", "--db",
                                   f"{tmp}/db", "--port", str(port), "--device", "cpu"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(120):
                try:
                    if httpx.get(f"{url}/v1/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            shots(url, samples)
        finally:
            server.terminate()
            server.wait(30)
    return 0


def shots(url: str, samples: Path) -> None:
    for size, suffix in (((1200, 800), ""), ((390, 844), "-phone")):
        driver = browser(size)
        wait = WebDriverWait(driver, 60)
        try:
            for name, photo in (("Barack Obama", "obama.jpg"), ("Joe Biden", "biden.jpg")):
                driver.get(f"{url}/#/enroll")
                field = driver.find_element(By.ID, "enroll-name")
                field.clear()
                field.send_keys(name)
                driver.find_element(By.ID, "enroll-files").send_keys(str(samples / photo))
                wait.until(lambda d, n=name: any(f"as {n}" in t
                                                 for t in texts(d, "#enroll-progress li")))
            if not suffix:
                driver.save_screenshot(str(OUT / "web-enroll.png"))
            driver.get(f"{url}/#/people")
            wait.until(lambda d: len(texts(d, ".person-name")) == 2)
            time.sleep(1)  # thumbnails
            driver.save_screenshot(str(OUT / f"web-people{suffix}.png"))
            driver.get(f"{url}/#/identify")
            driver.find_element(By.ID, "identify-file").send_keys(str(samples / "obama3.jpg"))
            wait.until(lambda d: texts(d, ".box span"))
            driver.save_screenshot(str(OUT / f"web-identify{suffix}.png"))
            if not suffix:
                driver.get(f"{url}/#/person/Barack%20Obama")
                wait.until(lambda d: texts(d, "#person-photos li strong"))
                time.sleep(1)
                driver.save_screenshot(str(OUT / "web-person.png"))
                driver.get(f"{url}/#/photos")
                wait.until(lambda d: texts(d, "#photos-people label"))
                for box in driver.find_elements(By.CSS_SELECTOR, "#photos-people input"):
                    box.click()
                driver.find_element(By.CSS_SELECTOR, "#photos-form button").click()
                wait.until(lambda d: texts(d, "#photos-list li strong"))
                time.sleep(1)
                driver.save_screenshot(str(OUT / "web-photos.png"))
        finally:
            driver.quit()


if __name__ == "__main__":
    sys.exit(main())
