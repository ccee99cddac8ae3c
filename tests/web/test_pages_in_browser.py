"""The web pages end to end, in a real headless chromium: a district coordinator signs in with a
token, opens the inbox, submits a capacity assessment through its form, and the site's page shows
the site in its next stage (the shared rollout: tests/web/world.py).

Screenshots of the inbox, the board and the audit timeline are kept in test-artifacts/screenshots/.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from api.pages.session import COOKIE, csrf_value
from domain.drivers import Driver
from domain.stages import Stage
from tests.web.browser import SCREENSHOTS, full_page_screenshot, start_browser
from tests.web.world import DISTRICT, open_task

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]

WAIT = 30.0


@pytest.fixture(scope="module")
def browser():
    driver = start_browser()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS.parent / ".gitignore").write_text("*\n")
    print(f"\nscreenshots: {SCREENSHOTS}")
    return SCREENSHOTS


def sign_in(browser, url: str, token: str, page: str = "/web/inbox") -> None:
    browser.delete_all_cookies()
    browser.get(url + page)
    WebDriverWait(browser, WAIT).until(lambda b: "/web/login" in b.current_url)
    field = browser.find_element(By.ID, "token")
    assert browser.find_element(By.CSS_SELECTOR, "label[for=token]").text.startswith("Access token")
    field.send_keys(token)
    browser.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
    WebDriverWait(browser, WAIT).until(
        lambda b: page in b.current_url and "/login" not in b.current_url)
    assert token not in browser.current_url and token not in browser.page_source


def capacity_card(browser, world):
    task_id = open_task(world, DISTRICT, "capacity")
    return browser.find_element(By.CSS_SELECTOR, f"article[data-task-id='{task_id}']")


def fill_capacity(card, *, score: str, facilitator: str) -> None:
    card.find_element(By.TAG_NAME, "summary").click()
    for row in range(len(Driver)):
        Select(card.find_element(By.NAME, f"items.{row}.score")).select_by_value(score)
    box = card.find_element(By.NAME, "facilitator")
    box.clear()
    if facilitator:
        box.send_keys(facilitator)
    card.find_element(By.NAME, "participants.0.role").send_keys("district implementation team")
    card.find_element(By.NAME, "participants.0.count").send_keys("6")


def test_a_coordinator_submits_a_capacity_assessment_and_the_site_advances(
        world, browser, screenshots):
    url, plan = world["url"], world["plan"]
    initiative_id = plan.initiative.id
    site_page = f"/web/initiatives/{initiative_id}/sites/{DISTRICT}"

    # Pages need a session; the login page refuses a bad token and keeps a good one in a cookie.
    browser.get(url + "/web/inbox")
    WebDriverWait(browser, WAIT).until(lambda b: "/web/login" in b.current_url)
    browser.find_element(By.ID, "token").send_keys("rollout_0123456789ab_" + "x" * 40)
    browser.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
    WebDriverWait(browser, WAIT).until(lambda b: b.find_elements(By.ID, "token-error"))
    assert "not valid" in browser.find_element(By.ID, "token-error").text
    sign_in(browser, url, world["tokens"]["coordinator"])
    cookie = browser.get_cookie(COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert DISTRICT in browser.find_element(By.TAG_NAME, "h1").text
    assert "Lakeview" not in browser.page_source, "another district's sites are not in the inbox"
    card = capacity_card(browser, world)
    assert "capacity assessment" in card.find_element(By.TAG_NAME, "h3").text

    # A bad value: the error is shown next to its field, and the answers entered are kept.
    fill_capacity(card, score="2", facilitator="")
    card.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(browser, WAIT).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, ".field.has-error"))
    card = capacity_card(browser, world)
    facilitator = card.find_element(By.NAME, "facilitator")
    field = facilitator.find_element(By.XPATH, "./ancestor::div[contains(@class, 'field')]")
    assert "Facilitator is required" in field.find_element(By.CSS_SELECTOR, ".error").text
    assert facilitator.get_attribute("aria-invalid") == "true"
    assert Select(card.find_element(By.NAME, "items.3.score")).first_selected_option.text == "2"
    assert card.find_element(By.NAME, "participants.0.count").get_attribute("value") == "6"
    full_page_screenshot(browser, screenshots / "inbox-with-error.png")

    # Another district's coordinator can neither see this site nor act on its task.
    coordinator_session = browser.get_cookie(COOKIE)
    sign_in(browser, url, world["tokens"]["other"])
    browser.get(url + site_page)
    assert browser.find_element(By.TAG_NAME, "h1").text == "No such site"
    other = browser.get_cookie(COOKIE)["value"]
    refused = httpx.post(f"{url}/web/tasks/{open_task(world, DISTRICT, 'capacity')}",
                         headers={"Cookie": f"{COOKIE}={other}"},
                         data={"csrf": csrf_value(other), "facilitator": "x"})
    assert refused.status_code == 404 and "No such task" in refused.text
    browser.delete_all_cookies()
    browser.get(url + "/web/login")
    browser.add_cookie({k: coordinator_session[k]
                        for k in ("name", "value", "path", "httpOnly", "sameSite")})

    # The coordinator completes the form; the workflow takes it and the site's page shows the move.
    browser.get(url + "/web/inbox")
    card = capacity_card(browser, world)
    fill_capacity(card, score="2", facilitator="Regional facilitator (non-voting)")
    full_page_screenshot(browser, screenshots / "inbox.png")
    card.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(browser, WAIT).until(lambda b: site_page in b.current_url)
    assert "Recorded" in browser.find_element(By.CSS_SELECTOR, ".notice").text
    deadline = time.monotonic() + WAIT
    while browser.find_element(By.ID, "site-stage").text != Stage.INITIAL_IMPLEMENTATION.value:
        assert time.monotonic() < deadline, browser.find_element(By.ID, "site-stage").text
        time.sleep(0.5)
        browser.refresh()

    # The audit timeline shows the move with its evidence and who submitted it.
    moves = browser.find_element(By.ID, "moves").find_element(By.XPATH, "./..").text
    assert "Installation → Initial Implementation" in moves
    evidence = [li.text for li in browser.find_elements(By.CSS_SELECTOR, ".evidence li")]
    assert any("capacity" in line and "100% of capacity points" in line
               and f"district_coordinator.{DISTRICT}" in line for line in evidence), evidence
    timeline = browser.find_element(By.CSS_SELECTOR, "table.timeline").text
    assert "district_coordinator" in timeline and "StageEntered" in timeline
    full_page_screenshot(browser, screenshots / "site-audit-timeline.png")

    # The state's board: every site, charted per cohort, region and over time, drilling down.
    sign_in(browser, url, world["tokens"]["state"], page=f"/web/board/{initiative_id}")
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.chart")) == 3
    segment = browser.find_element(By.CSS_SELECTOR, "#by-cohort ~ figure svg a")
    full_page_screenshot(browser, screenshots / "board.png")
    segment.click()
    WebDriverWait(browser, WAIT).until(lambda b: "column=" in b.current_url)
    sites = browser.find_element(By.ID, "sites")
    assert sites.find_elements(By.CSS_SELECTOR, "tbody tr")
    sites.find_element(By.CSS_SELECTOR, "tbody a").click()
    WebDriverWait(browser, WAIT).until(lambda b: "/sites/" in b.current_url)
    assert browser.find_element(By.ID, "timeline")

    # Signing out ends the session: the pages ask for the token again.
    browser.find_element(By.CSS_SELECTOR, ".account button[type=submit]").click()
    WebDriverWait(browser, WAIT).until(lambda b: "/web/login" in b.current_url)
    assert browser.get_cookie(COOKIE) is None
    browser.get(url + f"/web/board/{initiative_id}")
    assert "/web/login" in browser.current_url
    for name in ("inbox.png", "board.png", "site-audit-timeline.png"):
        assert (screenshots / name).stat().st_size > 10_000
