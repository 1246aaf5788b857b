"""Takes the README's screenshot (docs/playground.png) of a running playground.

    python -m bot playground &          # PORT=3000 by default
    python docs/screenshot.py [http://127.0.0.1:3000] [docs/playground.png]

Drives the page like a person: a text revision edited in the modal, then a tool-call review
with its first call approved, so the picture shows a decided message and a pending one.
Uses Debian's chromium (apt-get install -y chromium) through Playwright, no browser download.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:3000"
    out = Path(sys.argv[2] if len(sys.argv) > 2 else Path(__file__).with_name("playground.png"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
        page.goto(url.rstrip("/") + "/")
        expect(page.locator("#status")).to_have_text("live")

        page.click("button.example[data-example=text_revision]")
        message = page.locator(".message", has=page.locator("button.bk-button", has_text="Edit")).last
        message.locator("button.bk-button", has_text="Edit").click()
        page.locator(".modal textarea").first.fill("Sluice turns every pause of a graph into a Slack message.")
        page.locator(".modal .modal-submit").click()
        expect(page.locator(".modal")).to_have_count(0)
        expect(page.locator(".message[data-updated='1']")).to_have_count(1)

        page.click("button.example[data-example=tool_approval]")
        review = page.locator(".message", has=page.locator("button.bk-button", has_text="Reject")).last
        expect(review).to_contain_text("delete_file")
        review.locator("button.bk-button", has_text="Approve").first.click()
        expect(review.locator("button.bk-button", has_text="Approve")).to_have_count(1)
        page.wait_for_timeout(200)
        page.screenshot(path=str(out))
        browser.close()
    print(f"saved {out}")


if __name__ == "__main__":
    main()
