"""The web console in real headless Chromium (Debian's, driven by Playwright): log in, open a
run and replay it, approve a mission as an approver, check that a partner cannot see
unreleased findings, and run a partner request for information from the partner's question
to a planned mission and an answering run with released products.  Screenshots are kept in
build/test-artifacts/web/."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn

from standoff.api import ApiSettings, create_app
from standoff.store.sql import open_store

T0 = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts" / "web"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, airspace: object) -> Iterator[str]:
    import json

    from standoff.oversight.approval import plan_sha256_of
    from standoff.pipeline import run_plan
    from standoff.plan import DEMO_MISSION_YAML

    root = tmp_path_factory.mktemp("web")
    db = root / "standoff.db"
    # mission-1: a real plan (the demo mission's, renamed), submitted for approval.
    (root / "m.yaml").write_text(DEMO_MISSION_YAML, encoding="utf-8")
    run_plan(airspace, root / "m.yaml", root / "plan")  # type: ignore[arg-type]
    doc = {**json.loads((root / "plan" / "plan.json").read_text()), "mission_name": "review"}
    plan_text = json.dumps(doc, indent=1) + "\n"
    plan_sha = plan_sha256_of(plan_text)
    with open_store(str(db)) as store:
        for name, roles, country in (
            ("alice", ["planner"], None),
            ("bob", ["approver"], None),
            ("carol", ["analyst"], None),
            ("lucia", ["partner"], "MEX"),
        ):
            store.add_user(name, roles, f"token-{name}", now=T0, partner_country=country)
        store.create_mission("mission-1", "review", "alice", now=T0, plan_sha256=plan_sha)
        store.put_plan(plan_sha, "mission-1", plan_text, now=T0)
        assert store.transition("mission-1", "draft", "submitted", now=T0)
        store.create_run("r1", now=T0)
        store.put_tracks(
            "r1",
            [
                {
                    "track_id": k,
                    "time": T0 + timedelta(seconds=10 * i),
                    "lat": 31.3 + 0.01 * k,
                    "lon": -111.6 + 0.002 * i,
                    "vx_mps": 15.0,
                    "vy_mps": 0.0,
                }
                for i in range(6)
                for k in range(1 + i % 3)
            ],
        )
        store.put_finding(
            "f1",
            "r1",
            "site",
            "UNCLASSIFIED//REL TO USA, MEX",
            {"confidence": "very likely (90 %)"},
            lat=31.22,
            lon=-111.45,
        )
        store.put_finding("f2", "r1", "site", "UNCLASSIFIED//NOFORN", {}, lat=31.4, lon=-111.58)
        store.put_product(
            "MEX-findings.geojson",
            "r1",
            "geojson",
            "application/geo+json",
            "UNCLASSIFIED//REL TO USA, MEX",
            b'{"type": "FeatureCollection", "features": []}',
            now=T0,
        )
        store.put_product(
            "owner-report.pdf",
            "r1",
            "pdf",
            "application/pdf",
            "UNCLASSIFIED//NOFORN",
            b"%PDF",
            now=T0,
        )
        store.put_finding(
            "f3",
            "r1",
            "site",
            "UNCLASSIFIED//REL TO USA, MEX",
            {},
            own_territory=True,
            lat=31.6,
            lon=-111.15,
        )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        create_app(ApiSettings(db_url=str(db))), host="127.0.0.1", port=port, log_level="warning"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian chromium is needed (bash scripts/test installs it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


def _login(browser: object, url: str, name: str) -> object:
    page = browser.new_page(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url + "/")
    page.fill("#token", f"token-{name}")
    page.click("#login-button")
    page.wait_for_selector("body[data-ready='yes']", timeout=15_000)
    page.errors = errors
    return page


def _shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))  # type: ignore[attr-defined]


def test_analyst_opens_and_replays_a_run(server: str, browser: object) -> None:
    page = _login(browser, server, "carol")
    assert page.text_content("#user") == "carol"  # type: ignore[attr-defined]
    page.wait_for_selector("body[data-map='ready']", timeout=20_000)  # type: ignore[attr-defined]
    assert page.query_selector("#map canvas") is not None  # type: ignore[attr-defined]
    page.click("#load-run")  # type: ignore[attr-defined]
    page.wait_for_selector("#track-count[data-count]")  # type: ignore[attr-defined]
    assert page.get_attribute("#track-count", "data-count") == "1"  # type: ignore[attr-defined]
    page.fill("#time-slider", "2")  # type: ignore[attr-defined]
    page.dispatch_event("#time-slider", "input")  # type: ignore[attr-defined]
    assert page.get_attribute("#track-count", "data-count") == "3"  # type: ignore[attr-defined]
    assert "02:00:20" in page.text_content("#time-label")  # type: ignore[attr-defined]
    findings = page.locator("#findings li").all_text_contents()  # type: ignore[attr-defined]
    assert len(findings) == 3
    _shot(page, "analyst-replay")
    assert page.errors == []  # type: ignore[attr-defined]


def test_approver_approves_a_mission(server: str, browser: object) -> None:
    page = _login(browser, server, "bob")
    row = "#missions tr[data-mission='mission-1']"
    page.wait_for_selector(f"{row} button.approve")  # type: ignore[attr-defined]
    # First the approver looks at the plan: its path and orbits on the map, its clearance.
    page.wait_for_selector("body[data-map='ready']", timeout=20_000)  # type: ignore[attr-defined]
    page.click(f"{row} button.show-plan")  # type: ignore[attr-defined]
    page.wait_for_selector("body[data-plan-shown='mission-1']")  # type: ignore[attr-defined]
    note = page.text_content("#plan-note")  # type: ignore[attr-defined]
    assert "to foreign airspace (margin 3,000 m)" in note
    assert "orbit(s)" in note
    drawn = page.get_attribute("body", "data-plan-features")  # type: ignore[attr-defined]
    assert int(drawn) >= 2  # the path and at least one orbit
    _shot(page, "approver-plan")
    page.click(f"{row} button.approve")  # type: ignore[attr-defined]
    from playwright.sync_api import expect

    expect(page.locator(f"{row} td:nth-child(3)")).to_have_text("approved")  # type: ignore[attr-defined]
    _shot(page, "approver-approved")


def test_a_planner_plans_and_submits_a_mission_in_the_console(server: str, browser: object) -> None:
    from playwright.sync_api import expect

    page = _login(browser, server, "alice")
    page.wait_for_selector("#new-mission:not([hidden])")  # type: ignore[attr-defined]
    page.click("#new-mission summary")  # type: ignore[attr-defined]
    text = page.input_value("#mission-yaml")  # type: ignore[attr-defined]
    assert "name: sasabe-corridor" in text  # the template to start from
    page.fill("#mission-yaml", text.replace("name: sasabe-corridor", "name: console-planned"))  # type: ignore[attr-defined]
    assert page.is_disabled("#submit-mission")  # type: ignore[attr-defined]
    page.click("#plan-mission")  # type: ignore[attr-defined]
    page.wait_for_selector("body[data-planned]", timeout=60_000)  # type: ignore[attr-defined]
    note = page.text_content("#plan-note")  # type: ignore[attr-defined]
    assert note.startswith("console-planned (planned, not submitted)")
    assert "to foreign airspace (margin 3,000 m)" in note
    _shot(page, "planner-planned")
    page.click("#submit-mission")  # type: ignore[attr-defined]
    page.wait_for_selector("body[data-last-mission]")  # type: ignore[attr-defined]
    mission = page.get_attribute("body", "data-last-mission")  # type: ignore[attr-defined]
    assert mission.startswith("console-planned-")
    row = f"#missions tr[data-mission='{mission}']"
    expect(page.locator(f"{row} td:nth-child(3)")).to_have_text("submitted")  # type: ignore[attr-defined]
    # A mission that does not parse is refused with its field named, nothing is planned.
    page.fill("#mission-yaml", "name: [unclosed")  # type: ignore[attr-defined]
    page.click("#plan-mission")  # type: ignore[attr-defined]
    expect(page.locator("#error")).to_contain_text("not YAML")  # type: ignore[attr-defined]
    assert page.is_disabled("#submit-mission")  # type: ignore[attr-defined]
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_partner_cannot_see_unreleased_findings(server: str, browser: object) -> None:
    page = _login(browser, server, "lucia")
    assert page.is_hidden("#missions-panel")  # type: ignore[attr-defined]
    assert "REL TO USA, MEX" in page.text_content("#banner")  # type: ignore[attr-defined]
    page.click("#load-run")  # type: ignore[attr-defined]
    page.wait_for_selector("#findings li")  # type: ignore[attr-defined]
    items = page.locator("#findings li").all_text_contents()  # type: ignore[attr-defined]
    assert len(items) == 1
    assert items[0].startswith("f1")
    from playwright.sync_api import expect

    expect(page.locator("#time-label")).to_contain_text("not released")  # type: ignore[attr-defined]
    _shot(page, "partner-findings")


def test_a_partner_request_is_planned_answered_and_released(server: str, browser: object) -> None:
    from playwright.sync_api import expect

    partner = _login(browser, server, "lucia")
    expect(partner.locator("#request-form")).to_be_visible()  # type: ignore[attr-defined]
    partner.fill("#rq-question", "Where do vehicles leaving the Sasabe road go at night?")  # type: ignore[attr-defined]
    partner.fill("#rq-bbox", "-111.7,31.25,-111.4,31.45")  # type: ignore[attr-defined]
    partner.fill("#rq-start", "2026-03-20T00:00")  # type: ignore[attr-defined]
    partner.fill("#rq-end", "2026-03-27T00:00")  # type: ignore[attr-defined]
    partner.select_option("#rq-priority", "priority")  # type: ignore[attr-defined]
    partner.click("#rq-submit")  # type: ignore[attr-defined]
    partner.wait_for_selector("body[data-last-request]")  # type: ignore[attr-defined]
    rid = partner.get_attribute("body", "data-last-request")  # type: ignore[attr-defined]
    row = f"#requests li[data-request='{rid}']"
    expect(partner.locator(f"{row} .status")).to_have_text("open")  # type: ignore[attr-defined]
    assert partner.locator(f"{row} button").count() == 0  # type: ignore[attr-defined]
    _shot(partner, "partner-request-sent")

    # A planner sees it (no request form for staff) and turns it into a mission.
    planner = _login(browser, server, "alice")
    expect(planner.locator("#request-form")).to_be_hidden()  # type: ignore[attr-defined]
    planner.wait_for_selector(f"{row} button.plan-request")  # type: ignore[attr-defined]
    assert "Sasabe road" in planner.text_content(row)  # type: ignore[attr-defined]
    planner.select_option(f"{row} select.mission-choice", "mission-1")  # type: ignore[attr-defined]
    planner.click(f"{row} button.plan-request")  # type: ignore[attr-defined]
    expect(planner.locator(f"{row} .status")).to_have_text("planned")  # type: ignore[attr-defined]
    assert planner.locator(f"{row} button.answer-request").count() == 0  # type: ignore[attr-defined]

    # An analyst answers it with the run.
    analyst = _login(browser, server, "carol")
    analyst.wait_for_selector(f"{row} button.answer-request")  # type: ignore[attr-defined]
    analyst.select_option(f"{row} select.run-choice", "r1")  # type: ignore[attr-defined]
    analyst.click(f"{row} button.answer-request")  # type: ignore[attr-defined]
    expect(analyst.locator(f"{row} .status")).to_have_text("answered")  # type: ignore[attr-defined]
    staff_products = analyst.locator(f"{row} a.product").all_text_contents()  # type: ignore[attr-defined]
    assert len(staff_products) == 2

    # The partner sees the status and only the products released to it.
    partner.reload()  # type: ignore[attr-defined]
    partner.wait_for_selector("body[data-ready='yes']")  # type: ignore[attr-defined]
    expect(partner.locator(f"{row} .status")).to_have_text("answered")  # type: ignore[attr-defined]
    products = partner.locator(f"{row} a.product").all_text_contents()  # type: ignore[attr-defined]
    assert products == ["MEX-findings.geojson [UNCLASSIFIED//REL TO USA, MEX]"]
    assert "owner-report" not in partner.text_content("#requests-panel")  # type: ignore[attr-defined]
    partner.wait_for_selector("body[data-map='ready']", timeout=20_000)  # type: ignore[attr-defined]
    _shot(partner, "partner-requests")
    assert partner.errors == []  # type: ignore[attr-defined]
    assert planner.errors == []  # type: ignore[attr-defined]


def test_a_planner_flies_an_approved_mission_and_an_analyst_opens_the_run(
    server: str, browser: object, airspace: object, tmp_path: Path
) -> None:
    import json

    import httpx
    from playwright.sync_api import expect

    from standoff.pipeline import run_plan
    from standoff.plan import DEMO_MISSION_YAML

    (tmp_path / "m.yaml").write_text(DEMO_MISSION_YAML, encoding="utf-8")
    run_plan(airspace, tmp_path / "m.yaml", tmp_path / "plan")  # type: ignore[arg-type]
    plan = json.loads((tmp_path / "plan" / "plan.json").read_text())
    r = httpx.post(
        f"{server}/api/v1/missions",
        json={"plan": plan},
        headers={"Authorization": "Bearer token-alice"},
    )
    assert r.status_code == 201, r.text
    mission = r.json()["mission"]
    row = f"#missions tr[data-mission='{mission}']"

    # Not approved yet: no Fly button.  The approver approves it in the console.
    planner = _login(browser, server, "alice")
    planner.wait_for_selector(row)  # type: ignore[attr-defined]
    assert planner.locator(f"{row} button.fly").count() == 0  # type: ignore[attr-defined]
    approver = _login(browser, server, "bob")
    approver.click(f"{row} button.approve")  # type: ignore[attr-defined]
    expect(approver.locator(f"{row} td:nth-child(3)")).to_have_text("approved")  # type: ignore[attr-defined]
    assert approver.locator(f"{row} button.fly").count() == 0  # type: ignore[attr-defined]

    # The planner flies it: the job shows its stage and progress, then succeeds.
    planner.reload()  # type: ignore[attr-defined]
    planner.wait_for_selector("body[data-ready='yes']")  # type: ignore[attr-defined]
    planner.click(f"{row} button.fly")  # type: ignore[attr-defined]
    planner.wait_for_selector("body[data-last-job]")  # type: ignore[attr-defined]
    job = planner.get_attribute("body", "data-last-job")  # type: ignore[attr-defined]
    item = f"#jobs li[data-job='{job}']"
    planner.wait_for_selector(item)  # type: ignore[attr-defined]
    _shot(planner, "planner-job-running")
    planner.wait_for_selector(f"{item}[data-state='succeeded']", timeout=180_000)  # type: ignore[attr-defined]
    assert planner.locator(f"{item} progress").get_attribute("value") == "1"  # type: ignore[attr-defined]
    # Flown: the approval is used up, so the Fly button is gone.
    expect(planner.locator(f"{row} td:nth-child(3)")).to_have_text("flown")  # type: ignore[attr-defined]
    assert planner.locator(f"{row} button.fly").count() == 0  # type: ignore[attr-defined]
    # A planner does not read runs; an analyst opens the new run from the job.
    assert planner.locator(f"{item} button.open-job-run").count() == 0  # type: ignore[attr-defined]
    _shot(planner, "planner-job-done")

    analyst = _login(browser, server, "carol")
    analyst.click(f"{item} button.open-job-run")  # type: ignore[attr-defined]
    analyst.wait_for_selector("#track-count[data-count]")  # type: ignore[attr-defined]
    assert int(analyst.get_attribute("#track-count", "data-count")) > 0  # type: ignore[attr-defined]
    partner = _login(browser, server, "lucia")
    assert partner.is_hidden("#jobs-panel")  # type: ignore[attr-defined]
    _shot(analyst, "analyst-job-run")
    for page in (planner, approver, analyst, partner):
        assert page.errors == []  # type: ignore[attr-defined]
