"""The dashboard (issue 22) in a real headless Chromium (Debian's `chromium`,
driven by Playwright; no browser is downloaded) against `make run`'s server:
sign in, watch jobs move live, act on them, submit from the generated form,
upload, and fall back to polling when the events socket is unavailable.

Screenshots go to build/screenshots/ (printed at the end of the session)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.conftest import SCREENSHOTS, LocalServer
from tests.helpers import token_for

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
WAIT = 30_000  # ms: what the server may take to run a job and tell the page
NOT_ZERO = re.compile(r"^(?!0$)\d+(\.\d+)?$")

@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # No skip without it: `make test` installs Debian's chromium (make chromium),
    # and a missing browser must fail these tests, not hide them.
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run `make chromium`"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", lambda message: errors.append(message.text)
              if "Content Security Policy" in message.text else None)
    yield opened
    context.close()
    assert errors == []  # no script of the page threw, the policy refused nothing


def submit(server: LocalServer, key: str, method: str, params: dict[str, Any],
           **extra: Any) -> dict[str, Any]:
    answer = requests.post(f"{server.url}/jobs", json={"method": method, "params": params, **extra},
                           headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert answer.status_code == 202, answer.text
    return dict(answer.json())


def sign_in(page: Page, server: LocalServer, credential: str, hash_: str = "") -> None:
    page.goto(f"{server.url}/ui/{hash_}")
    page.get_by_label("Token or API key").fill(credential)
    page.get_by_label("Token or API key").press("Enter")  # the keyboard signs in
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def row(page: Page, job_id: str) -> Any:
    return page.locator(f'tr[data-id="{job_id}"]')


def screenshot(page: Page, name: str, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=full_page)


def test_the_page_and_its_files_are_served_without_a_credential_under_a_strict_policy(
        server: LocalServer) -> None:
    bare = requests.Session()
    moved = bare.get(f"{server.url}/ui", allow_redirects=False, timeout=10)
    page = bare.get(f"{server.url}/ui/", timeout=10)
    script = bare.get(f"{server.url}/ui/main.js", timeout=10)
    unknown = bare.get(f"{server.url}/ui/secrets.txt", timeout=10)

    assert moved.status_code == 308 and moved.headers["Location"] == "ui/"
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy
    host = server.url.removeprefix("http://")
    assert f"connect-src 'self' ws://{host} wss://{host};" in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-cache"
    assert "<script>" not in page.text and 'type="module" src="main.js"' in page.text
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    forged = bare.get(f"{server.url}/ui/", headers={"Host": "x; script-src *"}, timeout=10)
    assert "script-src *" not in forged.headers["Content-Security-Policy"]


def test_sign_in_keeps_the_credential_in_session_storage_only(
        page: Page, server: LocalServer, api_key: str) -> None:
    page.goto(f"{server.url}/ui/")
    page.get_by_label("Token or API key").fill("1-" + "x" * 64)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("credential")  # the API's own message
    sign_in(page, server, api_key)

    expect(page.locator("#live-state")).to_have_text("Live", timeout=WAIT)
    assert api_key not in page.url
    assert page.evaluate("Object.values(sessionStorage)") == [api_key]
    assert page.evaluate("localStorage.length") == 0 and page.evaluate("document.cookie") == ""
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Token or API key")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def test_a_submitted_sleep_appears_and_its_bar_moves_without_reloading(
        page: Page, server: LocalServer, api_key: str) -> None:
    for method, params in [("demo.echo", {"hello": "world"}), ("demo.fail", {"message": "no disk"}),
                           ("demo.fanout", {"count": 3})]:  # company for the screenshot
        submit(server, api_key, method, params, description=f"a {method} job")
    sign_in(page, server, api_key, "#/jobs?top=1")
    expect(page.locator("#live-state")).to_have_text("Live", timeout=WAIT)
    page.evaluate("window.notReloaded = true")

    job = submit(server, api_key, "demo.sleep", {"seconds": 5, "steps": 10})
    bar = row(page, job["id"]).locator("progress")
    expect(row(page, job["id"])).to_be_visible(timeout=WAIT)
    expect(bar).to_have_attribute("value", NOT_ZERO, timeout=WAIT)
    # the link a user may be clicking stays the same element while the job moves on
    link = row(page, job["id"]).get_by_role("link")
    link.evaluate("a => { a.dataset.marked = 'yes'; }")
    first = bar.get_attribute("value")
    expect(bar).not_to_have_attribute("value", first or "", timeout=WAIT)
    screenshot(page, "job-list.png")
    expect(row(page, job["id"])).to_have_attribute("data-state", "SUCCESS", timeout=WAIT)
    expect(bar).to_have_attribute("value", "100")
    expect(link).to_have_attribute("data-marked", "yes")

    assert page.evaluate("window.notReloaded") is True
    counts = page.get_by_role("list", name="Jobs by state")
    expect(counts.locator('[data-state="SUCCESS"]')).to_have_text(re.compile(r"SUCCESS [1-9]"))


def test_cancel_asks_first_and_the_job_becomes_aborted(
        page: Page, server: LocalServer, api_key: str) -> None:
    job = submit(server, api_key, "demo.sleep", {"seconds": 120, "steps": 240},
                 description="cancel me from the dashboard")
    sign_in(page, server, api_key, "#/jobs")
    row(page, job["id"]).get_by_role("link").click()
    expect(page.locator("#job-state")).to_have_text("RUNNING", timeout=WAIT)
    expect(page.get_by_role("progressbar", name="Progress of this job")).to_have_attribute(
        "value", NOT_ZERO, timeout=WAIT)
    screenshot(page, "job-page.png")

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Cancel job").click()
    expect(page.locator("#job-state")).to_have_text("RUNNING")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel job").click()

    expect(page.locator("#job-state")).to_have_text("ABORTED", timeout=WAIT)
    expect(page.get_by_role("button", name="Cancel job")).to_be_disabled()


# Delays the page's reads of sub-jobs while window.slowChildren is set (an
# init script: the page's policy does not apply to it).
SLOW_CHILDREN = """
const fetchNow = window.fetch;
window.fetch = async (...args) => {
  const url = String(args[0] && args[0].url ? args[0].url : args[0]);
  if (window.slowChildren && url.includes("/children")) {
    await new Promise((resolve) => setTimeout(resolve, 1500));
  }
  return fetchNow(...args);
};
"""


def test_a_fanout_of_200_shows_its_rollup_and_pages_its_children(
        page: Page, server: LocalServer, api_key: str) -> None:
    page.add_init_script(SLOW_CHILDREN)
    parent = submit(server, api_key, "demo.fanout", {"count": 200})
    sign_in(page, server, api_key, f"#/jobs/{parent['id']}")

    rollup = page.locator(".children [data-rollup]")
    expect(rollup.locator('[data-count="total"]')).to_have_text("total: 200", timeout=WAIT)
    expect(page.locator(".children li[data-child]")).to_have_count(50, timeout=WAIT)
    page.get_by_role("button", name="More sub-jobs").click()
    expect(page.locator(".children li[data-child]")).to_have_count(100, timeout=WAIT)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "fanout.png", full_page=False)  # most likely mid-way
    expect(rollup.locator('[data-count="SUCCESS"]')).to_have_text("SUCCESS: 200", timeout=90_000)
    expect(page.locator("#job-state")).to_have_text("SUCCESS", timeout=WAIT)
    expect(page.locator('.children li[data-state="SUCCESS"]').first).to_be_visible()
    # a press while a page is still being read is kept, not dropped: two
    # presses, the second during the first's (slowed) read, show two pages
    page.evaluate("window.slowChildren = true")
    more = page.get_by_role("button", name="More sub-jobs")
    more.click()
    more.click()
    expect(page.locator(".children li[data-child]")).to_have_count(200, timeout=WAIT)
    page.evaluate("window.slowChildren = false")

    page.get_by_role("link", name="Back to the list").click()
    page.get_by_label("Hide sub-jobs").check()
    page.get_by_role("button", name="Apply filters").click()
    expect(row(page, parent["id"])).to_be_visible(timeout=WAIT)
    children = requests.get(f"{server.url}/jobs/{parent['id']}/children", timeout=10,
                            params={"limit": 50}, headers={"Authorization": f"Bearer {api_key}"})
    shown = {row_id for row_id in page.locator("tbody tr").evaluate_all(
        "rows => rows.map(row => row.dataset.id)")}
    assert shown and not shown & {child["id"] for child in children.json()["records"]}


def test_a_tree_opens_level_by_level(page: Page, server: LocalServer, api_key: str) -> None:
    root = submit(server, api_key, "demo.fanout",
                  {"count": 2, "method": "demo.fanout", "params": {"count": 3}})
    sign_in(page, server, api_key, f"#/jobs/{root['id']}")
    expect(page.locator("#job-state")).to_have_text("SUCCESS", timeout=WAIT)

    opener = page.get_by_role("button", name="Sub-jobs (3)").first
    expect(opener).to_be_visible(timeout=WAIT)
    opener.click()
    expect(opener).to_have_attribute("aria-expanded", "true")
    expect(page.locator(".nested li[data-child]")).to_have_count(3, timeout=WAIT)
    opener.click()
    expect(page.locator(".nested li[data-child]")).to_have_count(0)


def test_an_opened_subtree_stays_open_while_its_jobs_move_on(
        page: Page, server: LocalServer, api_key: str) -> None:
    leaves = [{"method": "demo.sleep", "params": {"seconds": seconds, "steps": 2}}
              for seconds in (3, 6, 9)]
    root = submit(server, api_key, "demo.group", {},
                  children=[{"method": "demo.group", "params": {}, "children": leaves}])
    sign_in(page, server, api_key, f"#/jobs/{root['id']}")

    opener = page.get_by_role("button", name="Sub-jobs (3)")
    expect(opener).to_be_visible(timeout=WAIT)
    opener.click()
    nested = page.locator(".nested li[data-child]")
    expect(nested).to_have_count(3, timeout=WAIT)
    opener.evaluate("button => { button.dataset.marked = 'yes'; }")
    # the middle job counts each leaf's end: it moves on three times
    expect(page.locator("#job-state")).to_have_text("SUCCESS", timeout=60_000)
    expect(page.locator('.nested li[data-state="SUCCESS"]')).to_have_count(3, timeout=WAIT)

    expect(opener).to_have_attribute("aria-expanded", "true")
    expect(opener).to_have_attribute("data-marked", "yes")  # the same button all along
    expect(nested).to_have_count(3)


def test_a_failed_job_shows_its_error_and_traceback(
        page: Page, server: LocalServer, api_key: str) -> None:
    job = submit(server, api_key, "demo.fail", {"message": "the disk is on fire"})
    sign_in(page, server, api_key, f"#/jobs/{job['id']}")

    expect(page.locator("#job-state")).to_have_text("FAILED", timeout=WAIT)
    expect(page.locator("#job-error")).to_contain_text("the disk is on fire")
    expect(page.locator("#traceback")).to_contain_text("DemoFailure")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete job").click()
    expect(page).to_have_url(re.compile(r"#/jobs$"))
    gone = requests.get(f"{server.url}/jobs/{job['id']}", timeout=10,
                        headers={"Authorization": f"Bearer {api_key}"})
    assert gone.status_code == 404


def test_filters_narrow_the_list_and_stay_in_the_address_without_the_credential(
        page: Page, server: LocalServer, api_key: str) -> None:
    failed = submit(server, api_key, "demo.fail", {"message": "filtered"})
    echoed = submit(server, api_key, "demo.echo", {"filtered": True})
    sign_in(page, server, api_key, "#/jobs")
    expect(row(page, echoed["id"])).to_be_visible(timeout=WAIT)

    page.get_by_label("Method").select_option("demo.fail")
    page.get_by_label("Query filters (JSON)").fill('[["error", "~", "filtered"]]')
    page.get_by_role("button", name="Apply filters").click()

    expect(row(page, failed["id"])).to_be_visible(timeout=WAIT)
    expect(row(page, echoed["id"])).to_have_count(0)
    assert "method=demo.fail" in page.url and api_key not in page.url
    counts = page.get_by_role("list", name="Jobs by state")
    expect(counts.locator('[data-state="FAILED"]')).to_have_text("FAILED 1", timeout=WAIT)


def test_the_keyboard_alone_opens_a_job_from_the_list(
        page: Page, server: LocalServer, api_key: str) -> None:
    job = submit(server, api_key, "demo.echo", {"keys": "only"})
    sign_in(page, server, api_key, "#/jobs")
    link = row(page, job["id"]).get_by_role("link")
    # Finished first: a row whose job moves on is drawn again, and loses the focus.
    expect(row(page, job["id"])).to_have_attribute("data-state", "SUCCESS", timeout=WAIT)

    for _ in range(100):  # Tab until the job's link has the focus
        if link.evaluate("node => node === document.activeElement"):
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    expect(page.locator("#job-state")).to_have_text("SUCCESS", timeout=WAIT)


def test_submit_from_the_form_generated_from_the_params_schema(
        page: Page, server: LocalServer, api_key: str) -> None:
    sign_in(page, server, api_key, "#/submit")
    page.get_by_label("Method").select_option("demo.sleep")
    page.get_by_label("Seconds").fill("0.5")
    page.get_by_label("Steps").fill("2")
    page.get_by_label("Description (optional)").fill("from the form")
    page.get_by_role("button", name="Submit", exact=True).click()

    expect(page).to_have_url(re.compile(r"#/jobs/[0-9a-f-]{36}$"), timeout=WAIT)
    expect(page.locator("#job-state")).to_have_text("SUCCESS", timeout=WAIT)
    page.get_by_role("button", name="Fetch result").click()
    expect(page.locator("#job-result")).to_contain_text('"slept": 0.5')
    record = page.locator("#record")
    expect(record).to_contain_text('"description": "from the form"')


def test_a_refused_request_shows_the_apis_message(
        page: Page, server: LocalServer, api_key: str) -> None:
    sign_in(page, server, api_key, '#/jobs?filters=[["no_such_field","=",1]]')

    expect(page.get_by_role("alert")).to_contain_text("filters[0]")


def test_a_file_is_downloaded_once_through_the_link_the_page_asks_for(
        page: Page, server: LocalServer, api_key: str) -> None:
    sign_in(page, server, api_key, "#/submit?method=demo.export")
    page.get_by_label("Size").fill("2048")
    page.get_by_label("File name of its download").fill("export.bin")
    page.get_by_role("button", name="Submit", exact=True).click()

    expect(page.get_by_text("export.bin: READY")).to_be_visible(timeout=WAIT)
    page.get_by_role("button", name="Get the download link").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download (once)").click()
    assert Path(download.value.path()).stat().st_size == 2048
    expect(page.locator("#job-state")).to_have_text("SUCCESS", timeout=WAIT)


def test_upload_a_file_to_a_method_that_reads_one(
        page: Page, server: LocalServer, api_key: str) -> None:
    sign_in(page, server, api_key, "#/submit?method=demo.checksum")
    page.get_by_label("Files to upload").set_input_files(
        files=[{"name": "hello.txt", "mimeType": "text/plain", "buffer": b"hello dashboard"}])
    page.get_by_role("button", name="Upload and submit").click()

    expect(page.locator("#job-state")).to_have_text("SUCCESS", timeout=WAIT)
    page.get_by_role("button", name="Fetch result").click()
    expect(page.locator("#job-result")).to_contain_text('"filename": "hello.txt"')


def test_a_second_user_sees_none_of_the_first_users_jobs(
        page: Page, server: LocalServer, api_key: str) -> None:
    mine = submit(server, api_key, "demo.echo", {"who": "the first user"})
    other = token_for("default", "eve", ())  # a plain user of the same tenant
    theirs = submit(server, other, "demo.echo", {"who": "eve"})
    sign_in(page, server, other, "#/jobs")

    expect(row(page, theirs["id"])).to_be_visible(timeout=WAIT)
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(row(page, mine["id"])).to_have_count(0)
    counts = page.get_by_role("list", name="Jobs by state")
    expect(counts.locator('[data-state="all"]')).to_have_text("All 1")
    page.goto(f"{server.url}/ui/#/jobs/{mine['id']}")
    expect(page.get_by_role("alert")).to_contain_text("no such job")


def test_the_list_polls_and_says_so_when_the_events_socket_is_unavailable(
        page: Page, server: LocalServer, api_key: str) -> None:
    page.route_web_socket(re.compile(r"/events$"), lambda socket: socket.close())
    sign_in(page, server, api_key, "#/jobs")

    notice = page.get_by_role("status").filter(has_text="Live updates are unavailable")
    expect(notice).to_be_visible(timeout=WAIT)
    expect(page.locator("#live-state")).to_have_text("Polling")
    job = submit(server, api_key, "demo.sleep", {"seconds": 1, "steps": 2})
    expect(row(page, job["id"])).to_have_attribute("data-state", "SUCCESS", timeout=WAIT)

    later = submit(server, api_key, "demo.sleep", {"seconds": 3, "steps": 3})
    page.goto(f"{server.url}/ui/#/jobs/{later['id']}")
    expect(page.locator("#job-state")).to_have_text("RUNNING", timeout=WAIT)
    expect(page.locator("#job-state")).to_have_text("SUCCESS", timeout=WAIT)
    expect(notice).to_be_visible()


def test_the_list_fits_a_390_pixel_wide_screen(
        page: Page, server: LocalServer, api_key: str) -> None:
    submit(server, api_key, "demo.echo", {"narrow": True})
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, server, api_key, "#/jobs")
    expect(page.locator("tbody tr").first).to_be_visible(timeout=WAIT)

    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    clipped = page.evaluate("[...document.querySelectorAll('td')]"
                            ".filter(cell => cell.scrollWidth > cell.clientWidth + 1).length")
    assert clipped == 0
    screenshot(page, "job-list-390.png")
