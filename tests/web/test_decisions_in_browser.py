"""The state decides in a real headless chromium (issue 16): a state administrator signs in, finds
two sites waiting for approval of their move to Full Implementation in the decision queue with
the evidence the rules weighed, approves one on its page (the site's stage changes on its page, on
the board and in Temporal's visibility, as `temporal workflow list --query` shows it), declines
the other with a reason (refused first for too short a reason, the text kept), and overrides a
third site's failed gate with a rationale; `rollout audit site` tells each decision with the
person and the text.

The rollout is this module's own (the small example under a fresh id, with search attributes),
on the shared world's worker; screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import pytest
import pytest_asyncio
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from typer.testing import CliRunner

from cli.main import app as cli
from devstack.temporal import temporal_cli_path
from domain.actors import Role
from domain.stages import Stage
from simulation.playthrough import launch
from store import tokens
from store.db import connect
from tests.domain.builders import capacity
from tests.web.browser import SCREENSHOTS, full_page_screenshot, start_browser
from tests.web.rollout_setup import Target, bring_sites
from tests.web.test_pages_in_browser import sign_in
from tests.web.world import SPEEDUP, renamed
from tests.workflows.harness import STATE_ADMIN, small_plan
from workflows.ids import site_workflow_id
from workflows.models import InitiativeOptions

pytestmark = [pytest.mark.postgres, pytest.mark.temporal]

WAIT = 30.0
APPROVED, DECLINED, OVERRIDDEN = "cedar-falls-sd", "lakeview-usd", "prairie-ridge-sd"
PERSON = "stella.state"
APPROVE_NOTE = "Fidelity held in both observations; the district is ready"
DECLINE_REASON = "Both fidelity observations were in one school; observe the others first"
OVERRIDE_REASON = "The capacity review was taken before the new team was trained"
FULL = Stage.FULL_IMPLEMENTATION
WAITING = Target(Stage.INITIAL_IMPLEMENTATION, also=frozenset({"capacity", "fidelity"}),
                 done=lambda s: s.pending_move is FULL)
FAILED_GATE = Target(
    Stage.INITIAL_IMPLEMENTATION, also=frozenset({"capacity"}), answers={"capacity": lambda: capacity(0)},
    done=lambda s: s.stage is Stage.INITIAL_IMPLEMENTATION and any(
        c.name == "capacity assessment" and not c.met and not c.pending for c in s.last_checks))


@pytest_asyncio.fixture(scope="module")
async def deciding(world):
    """This module's rollout: two sites waiting for the state's approval of Full Implementation,
    one held in Initial Implementation by a failed capacity check; and a state admin's token."""
    plan = renamed(small_plan(), f"decide-{uuid.uuid4().hex[:6]}")
    await launch(world["client"], plan, STATE_ADMIN, task_queue=world["queue"],
                 options=InitiativeOptions(speedup=SPEEDUP, search_attributes=True))
    await bring_sites(world["client"], plan, {APPROVED: WAITING, DECLINED: WAITING,
                                              OVERRIDDEN: FAILED_GATE}, timeout=120)
    pool = await connect(world["dsn"])
    try:
        token = (await tokens.create(pool, role=Role.STATE_ADMIN, actor_id=PERSON,
                                     created_by="tests/web")).token
    finally:
        await pool.close()
    return {"initiative": plan.initiative.id, "token": token}


@pytest.fixture(scope="module")
def browser():
    driver = start_browser()
    yield driver
    driver.quit()


def site_path(initiative_id: str, site_id: str) -> str:
    return f"/web/initiatives/{initiative_id}/sites/{site_id}"


def decide(browser, form_id: str, reason: str) -> None:
    form = browser.find_element(By.ID, form_id)
    box = form.find_element(By.TAG_NAME, "textarea")
    box.clear()
    box.send_keys(reason)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def wait_for(browser, what: str, check) -> None:
    WebDriverWait(browser, WAIT).until(lambda b: check(b), message=what)


def in_full_implementation(address: str) -> set[str]:
    """Workflow ids `temporal workflow list` finds in Full Implementation (latest runs only)."""
    listed = subprocess.run(
        [str(temporal_cli_path()), "workflow", "list", "--address", address, "--output", "json",
         "--query", "RolloutStage='Full Implementation' AND ExecutionStatus != 'ContinuedAsNew'"],
        capture_output=True, text=True, timeout=60, check=True)
    return {row["execution"]["workflowId"] for row in json.loads(listed.stdout or "[]")}


def audit_rows(dsn: str, initiative_id: str, site_id: str, event_type: str) -> list[str]:
    result = CliRunner().invoke(cli, ["audit", "site", initiative_id, site_id, "--database-url", dsn],
                                env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    return [line for line in result.output.splitlines() if event_type in line]


def test_a_state_admin_approves_declines_and_overrides_in_the_browser(world, deciding, browser):
    url, initiative = world["url"], deciding["initiative"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # The queue: both waiting sites, each with the checks the rules weighed.
    sign_in(browser, url, deciding["token"], page="/web/decisions")
    browser.get(f"{url}/web/decisions?initiative={initiative}")
    waiting = {a.get_attribute("data-site-id"): a.text
               for a in browser.find_elements(By.CSS_SELECTOR, "article.waiting")}
    assert set(waiting) == {APPROVED, DECLINED}, waiting
    assert "capacity assessment" in waiting[APPROVED] and "fidelity assessments taken" in waiting[APPROVED]
    full_page_screenshot(browser, SCREENSHOTS / "decision-queue.png")

    # Approve on the site's page: the page, the board and Temporal's visibility show the move.
    browser.find_element(By.CSS_SELECTOR, f"article[data-site-id='{APPROVED}'] h2 a").click()
    wait_for(browser, "the site's page", lambda b: b.find_elements(By.ID, "approve-form"))
    assert "state approval of the move to Full Implementation" in browser.find_element(
        By.ID, "site-pending").text
    assert browser.find_element(By.ID, "checks").find_element(By.XPATH, "./..").text.count("yes") == 2
    full_page_screenshot(browser, SCREENSHOTS / "site-decision.png")
    decide(browser, "approve-form", APPROVE_NOTE)
    wait_for(browser, "the approval recorded", lambda b: b.find_elements(By.ID, "decided"))
    assert browser.find_element(By.ID, "decided").text == \
        "Recorded: you approved the move to Full Implementation."
    assert browser.find_element(By.ID, "site-stage").text == FULL.value
    browser.get(f"{url}/web/board/{initiative}")
    row = browser.find_element(By.XPATH, f"//section[@id='sites']//tr[.//a[contains(@href, '/{APPROVED}')]]")
    assert FULL.value in row.text, row.text

    # Decline on its page: too short a reason is refused by the rules, the text kept; then declined.
    browser.get(url + site_path(initiative, DECLINED))
    decide(browser, "decline-form", "not yet")
    wait_for(browser, "the refusal", lambda b: b.find_elements(By.ID, "decision-error"))
    assert "at least 10 characters" in browser.find_element(By.ID, "decision-error").text
    assert browser.find_element(By.ID, "decline-reason").get_attribute("value") == "not yet"
    decide(browser, "decline-form", DECLINE_REASON)
    wait_for(browser, "the decline recorded", lambda b: b.find_elements(By.ID, "decided"))
    assert browser.find_element(By.ID, "decided").text == \
        "Recorded: you declined the move to Full Implementation."
    assert browser.find_element(By.ID, "site-stage").text == Stage.INITIAL_IMPLEMENTATION.value
    assert not browser.find_elements(By.ID, "site-pending")
    assert "declined the move to Full Implementation" in browser.find_element(By.ID, "open-tasks") \
        .find_element(By.XPATH, "./..").text

    # Override the failed gate with a rationale.
    browser.get(url + site_path(initiative, OVERRIDDEN))
    checks = browser.find_element(By.ID, "checks").find_element(By.XPATH, "./..").text
    assert "capacity assessment" in checks and "0%" in checks
    decide(browser, "override-form", OVERRIDE_REASON)
    wait_for(browser, "the override recorded", lambda b: b.find_elements(By.ID, "decided"))
    assert browser.find_element(By.ID, "decided").text == \
        "Recorded: you overrode the gate: the site moved to Full Implementation."
    assert browser.find_element(By.ID, "site-stage").text == FULL.value
    full_page_screenshot(browser, SCREENSHOTS / "site-after-override.png")

    # The queue is empty now; Temporal lists the two sites in Full Implementation, not the third.
    browser.get(f"{url}/web/decisions?initiative={initiative}")
    assert not browser.find_elements(By.CSS_SELECTOR, "article.waiting")
    wanted = {site_workflow_id(initiative, APPROVED), site_workflow_id(initiative, OVERRIDDEN)}
    deadline = time.monotonic() + WAIT
    while not wanted <= (found := in_full_implementation(world["address"])):
        assert time.monotonic() < deadline, found
        time.sleep(0.5)
    assert site_workflow_id(initiative, DECLINED) not in found

    # `rollout audit site` tells each decision with the person and the text.
    for site_id, event_type, text in ((APPROVED, "StageMoveApproved", APPROVE_NOTE),
                                      (DECLINED, "StageMoveDeclined", DECLINE_REASON),
                                      (OVERRIDDEN, "StageMoveOverridden", OVERRIDE_REASON)):
        (row,) = audit_rows(world["dsn"], initiative, site_id, event_type)
        assert PERSON in row and text in row, row
