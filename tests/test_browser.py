"""What the server sends a real browser (the system's headless Chromium, no network
beyond loopback): the API description page, and the headers every answer carries."""

from __future__ import annotations

import pytest
from browser import headless_chromium, loaded_from

httpx = pytest.importorskip("httpx", reason="httpx is a test dependency")
from server import running_server  # noqa: E402

pytestmark = pytest.mark.slow  # real services, browsers or kill loops: the full run


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


def _wait(driver, condition, seconds: float = 60):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, seconds).until(condition)


def _texts(driver, selector: str) -> list[str]:
    """The text of every element matching ``selector``, read in one go (the page may
    redraw between two reads)."""
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent)",
        selector)


def _enroll_through_page(driver, url: str, name: str, photo) -> None:
    from selenium.webdriver.common.by import By
    driver.get(f"{url}/#/enroll")
    field = driver.find_element(By.ID, "enroll-name")
    field.clear()
    field.send_keys(name)
    driver.find_element(By.ID, "enroll-files").send_keys(str(photo))
    _wait(driver, lambda d: any(f"enrolled as {name}" in t
                                for t in _texts(d, "#enroll-progress li")))


def test_page_enrolls_identifies_renames_and_deletes(server, samples, shared_faces):
    from selenium.webdriver.common.by import By

    with headless_chromium() as driver:
        _enroll_through_page(driver, server.url, "obama", samples / "obama.jpg")
        _enroll_through_page(driver, server.url, "biden", samples / "biden.jpg")
        driver.get(f"{server.url}/#/people")
        _wait(driver, lambda d: sorted(_texts(d, ".person-name")) == ["biden", "obama"])

        driver.get(f"{server.url}/#/identify")
        driver.find_element(By.ID, "identify-file").send_keys(
            str(shared_faces / "probes" / "obama_and_biden.jpg"))
        _wait(driver, lambda d: len(_texts(d, ".box span")) == 3)
        labels = " ".join(_texts(driver, ".box span"))
        assert "obama" in labels and "biden" in labels and "unknown" in labels
        assert loaded_from(driver, server.url) == []  # nothing beyond the server

        driver.get(f"{server.url}/#/person/obama")
        _wait(driver, lambda d: d.find_element(By.ID, "person-name").text == "obama")
        field = driver.find_element(By.ID, "rename-input")
        field.clear()
        field.send_keys("Barack Obama")
        driver.find_element(By.ID, "rename-button").click()
        _wait(driver, lambda d: d.find_element(By.ID, "person-name").text == "Barack Obama")

        driver.find_element(By.ID, "delete-person").click()
        _wait(driver, lambda d: d.switch_to.alert).accept()
        _wait(driver, lambda d: _texts(d, ".person-name") == ["biden"])
    assert [p["name"] for p in httpx.get(f"{server.url}/v1/people").json()["people"]] \
        == ["biden"]


def test_names_are_shown_as_text_never_as_markup(server, samples):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    hostile = "<img src=x onerror=alert(1)>"
    answer = httpx.post(f"{server.url}/v1/people/{hostile}/faces", timeout=120,
                        files=[("images", ("a.jpg", (samples / "obama2.jpg").read_bytes(),
                                           "image/jpeg"))])
    assert answer.status_code == 201, answer.text
    with headless_chromium() as driver:
        driver.get(f"{server.url}/#/people")
        _wait(driver, lambda d: hostile in _texts(d, ".person-name"))
        driver.find_element(By.CSS_SELECTOR, ".cards a").click()
        _wait(driver, lambda d: d.find_element(By.ID, "person-name").text in (hostile,
                                                                             "biden"))
        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert.text
        assert not driver.find_elements(By.CSS_SELECTOR, "img[src='x']")


def test_page_asks_for_the_api_key_once(model_paths, tmp_path):
    from selenium.webdriver.common.by import By

    key = "a-long-enough-test-key-0123456789"
    with running_server(tmp_path / "db", env={"FACEREC_API_KEY": key}) as keyed, \
            headless_chromium() as driver:
        driver.get(f"{keyed.url}/#/people")
        dialog = _wait(driver, lambda d: d.find_element(By.ID, "key-dialog"))
        _wait(driver, lambda d: dialog.get_attribute("open") is not None)
        driver.find_element(By.ID, "key-input").send_keys(key)
        driver.find_element(By.CSS_SELECTOR, "#key-form button").click()
        _wait(driver, lambda d: "Nobody is enrolled yet." in _texts(d, "#people-list li"))
        driver.get(f"{keyed.url}/#/health")  # the key is kept for the tab
        _wait(driver, lambda d: "sface-2021dec" in _texts(d, "#health-list dd"))
        assert key not in driver.current_url
        assert driver.get_cookies() == []


def test_unknown_faces_are_grouped_and_a_group_enrolled(model_paths, samples, tmp_path):
    """Faces identify called unknown come back as a group on the page, with their crops,
    and naming the group enrolls them."""
    from selenium.webdriver.common.by import By

    with running_server(tmp_path / "db") as fresh, headless_chromium() as driver:
        for name in ("obama.jpg", "obama2.jpg", "obama3.jpg"):
            httpx.post(f"{fresh.url}/v1/identify", timeout=120,
                       files={"image": (name, (samples / name).read_bytes(), "image/jpeg")})
        driver.get(f"{fresh.url}/#/groups")
        _wait(driver, lambda d: _texts(d, ".group strong") == ["group 1: 3 faces"])
        _wait(driver, lambda d: d.execute_script(
            "return [...document.querySelectorAll('.sheet img')]"
            ".every(i => i.complete && i.naturalWidth > 0)"))
        driver.find_element(By.CSS_SELECTOR, ".group input").send_keys("Obama")
        driver.find_element(By.CSS_SELECTOR, ".group button").click()
        _wait(driver, lambda d: any("3 of 3 faces enrolled as Obama" in t
                                    for t in _texts(d, ".group span")))
        assert httpx.get(f"{fresh.url}/v1/people").json()["people"] == [
            {"name": "Obama", "faces": 3}]


def test_an_unknown_face_is_enrolled_from_the_identify_view(model_paths, samples, tmp_path):
    from selenium.webdriver.common.by import By

    with running_server(tmp_path / "db") as fresh, headless_chromium() as driver:
        driver.get(f"{fresh.url}/#/identify")
        driver.find_element(By.ID, "identify-file").send_keys(str(samples / "biden.jpg"))
        _wait(driver, lambda d: _texts(d, ".box.unknown span"))
        driver.find_element(By.CSS_SELECTOR, "#identify-faces button").click()
        prompt = _wait(driver, lambda d: d.switch_to.alert)
        prompt.send_keys("Joe Biden")
        prompt.accept()
        _wait(driver, lambda d: any("enrolled as Joe Biden" in t
                                    for t in _texts(d, "#identify-faces li")))
        assert httpx.get(f"{fresh.url}/v1/people").json()["people"] == [
            {"name": "Joe Biden", "faces": 1}]


def test_a_heic_photo_is_identified_whether_or_not_the_browser_shows_it(server, samples,
                                                                         tmp_path):
    """An iPhone photo sent from the page: the server reads it; a browser that cannot show
    HEIC (Chromium) still lists its faces, and says why no box is drawn."""
    pillow_heif = pytest.importorskip("pillow_heif", reason="pillow-heif writes the HEIC")
    from PIL import Image
    from selenium.webdriver.common.by import By

    photo = tmp_path / "IMG_0001.HEIC"
    pillow_heif.from_pillow(Image.open(samples / "obama3.jpg").convert("RGB")).save(photo)
    with headless_chromium() as driver:
        driver.get(f"{server.url}/#/identify")
        driver.find_element(By.ID, "identify-file").send_keys(str(photo))
        _wait(driver, lambda d: _texts(d, "#identify-faces li"))
        summary = driver.find_element(By.ID, "identify-summary").text
        assert summary.startswith("1 face") and len(_texts(driver, "#identify-faces li")) == 1
        assert len(_texts(driver, ".box span")) == 1 or "cannot show" in summary


def test_the_library_in_the_page_person_photos_and_search(model_paths, shared_faces, tmp_path):
    import shutil

    from selenium.webdriver.common.by import By

    from facerec.cli import main

    photos, db = tmp_path / "photos", tmp_path / "db"
    shutil.copytree(shared_faces / "probes", photos)
    shutil.copyfile(photos / "johnsnow_test1.jpg", photos / "<b>john<i>.jpg")
    assert main(["enroll", str(shared_faces / "gallery"), "--db", str(db)]) == 0
    assert main(["scan", str(photos), "--db", str(db)]) == 0
    with running_server(db) as running, headless_chromium() as driver:
        driver.get(f"{running.url}/#/person/kit_harington")
        _wait(driver, lambda d: len(_texts(d, "#person-photos li strong")) == 3)
        assert sorted(_texts(driver, "#person-photos li strong")) == [
            "<b>john<i>.jpg", "johnsnow_test1.jpg", "kit_with_rose.jpg"]
        assert not driver.find_elements(By.CSS_SELECTOR, "#person-photos b")
        _wait(driver, lambda d: d.execute_script(
            "return [...document.querySelectorAll('#person-photos img')]"
            ".every(i => i.complete && i.naturalWidth > 0)"))
        more = driver.find_element(By.ID, "person-photos-more")
        assert not more.is_displayed()  # every photo is shown: no "More photos"

        driver.get(f"{running.url}/#/photos")
        _wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#photos-people input")) == 5)
        assert not driver.find_element(By.ID, "photos-more").is_displayed()  # no search yet
        for name in ("kit_harington", "rose_leslie"):
            driver.find_element(By.CSS_SELECTOR, f"#photos-people input[value='{name}']").click()
        driver.find_element(By.CSS_SELECTOR, "input[name='together'][value='all']").click()
        driver.find_element(By.CSS_SELECTOR, "#photos-form button").click()
        _wait(driver, lambda d: _texts(d, "#photos-list li strong") == ["kit_with_rose.jpg"])
        driver.find_element(By.CSS_SELECTOR, "input[name='together'][value='unknown']").click()
        driver.find_element(By.CSS_SELECTOR, "#photos-form button").click()
        _wait(driver, lambda d: _texts(d, "#photos-list li strong") == ["obama_and_biden.jpg"])
        assert loaded_from(driver, running.url) == []


def test_the_page_shows_unsure_and_takes_not_this_person(model_paths, samples, shared_faces,
                                                         tmp_path):
    """Two names for one man make his face unsure, drawn as such; "Not obama" on a named
    face is kept, and the same face is no longer named obama."""
    from PIL import Image
    from selenium.webdriver.common.by import By

    again = tmp_path / "obama-again.jpg"  # the same face in other bytes: a tie, whatever
    Image.open(samples / "obama.jpg").save(again, quality=85)  # the embedder's precision
    with running_server(tmp_path / "db") as fresh, headless_chromium() as driver:
        _enroll_through_page(driver, fresh.url, "obama", samples / "obama.jpg")
        _enroll_through_page(driver, fresh.url, "barack", again)
        driver.get(f"{fresh.url}/#/identify")
        driver.find_element(By.ID, "identify-file").send_keys(str(samples / "obama3.jpg"))
        _wait(driver, lambda d: _texts(d, ".box.unsure span") == ["unsure"])
        line = _texts(driver, "#identify-faces li")[0]
        assert "barack" in line and "obama" in line and "Not " not in line

        httpx.delete(f"{fresh.url}/v1/people/barack", timeout=60).raise_for_status()
        driver.get(f"{fresh.url}/#/identify")
        driver.find_element(By.ID, "identify-file").send_keys(
            str(shared_faces / "probes" / "obama1.jpg"))
        _wait(driver, lambda d: any(t.startswith("obama") for t in _texts(d, ".box span")))
        assert "strangers named" in driver.find_element(By.ID, "identify-summary").text
        driver.find_element(By.CSS_SELECTOR, "#identify-faces button.not-person").click()
        _wait(driver, lambda d: any("kept: not obama" in t
                                    for t in _texts(d, "#identify-faces li")))
        again = httpx.post(f"{fresh.url}/v1/identify", timeout=120, files={
            "image": (shared_faces / "probes" / "obama1.jpg").read_bytes()}).json()
        assert again["faces"][0]["person"] == "unknown"
        assert "marked as not obama" in again["faces"][0]["reason"]
