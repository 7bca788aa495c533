"""A participatory class in a real browser (Playwright driving Debian's chromium) against
``alliance-sim-app`` on loopback: a teacher creates a class of 30 teams, 30 students join from
separate browser contexts and play 8 rounds with scripted decisions, one student's page is
closed and opened again mid-game, and the teacher's export holds every decision, each round
played in under a second after its last decision, and the debrief each alliance under its
three counterfactual charters.

``CLASS_SCREENSHOTS=docs`` writes the teaching guide's screenshots into ``docs/``.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from sim.classroom.probe import CHROMIUM, CHROMIUM_ARGS, serve

pytestmark = [pytest.mark.slow, pytest.mark.alone]

TEAMS = int(os.environ.get("CLASS_TEAMS", "30"))
ROUNDS = 8
RECONNECT_ROUND = 4
RECONNECT_TEAM = 7 % TEAMS
EFFORTS = ("low", "normal", "high")


def scripted(team: int, round_: int) -> dict[str, str]:
    """The decision team ``team`` makes in round ``round_`` (1-based)."""
    return {
        "effort": EFFORTS[(team + round_) % 3],
        "issues": "sit" if (team * round_) % 5 == 0 else "raise",
        "side_deals": "decline" if team % 2 else "take",
    }


def wait_for_any(page, teacher, folder: Path, who: str, texts: list[str]) -> None:
    """Wait until ``page`` shows one of ``texts``; if it never does, keep screenshots of it and
    of the console and fail with what the page shows."""
    shown = page.get_by_text(texts[0])
    for text in texts[1:]:
        shown = shown.or_(page.get_by_text(text))
    try:
        shown.first.wait_for(timeout=120_000)
    except Exception:
        page.screenshot(path=str(folder / f"stuck-{who.replace(' ', '-')}.png"), full_page=True)
        teacher.screenshot(path=str(folder / "stuck-console.png"), full_page=True)
        raise AssertionError(f"{who}:\n{page.inner_text('body')}") from None


def test_thirty_teams_play_eight_rounds_and_the_debrief_compares_every_alliance(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            "the browser test needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    shots = os.environ.get("CLASS_SCREENSHOTS")
    with serve(tmp_path / "server.log") as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        teacher = browser.new_context(
            viewport={"width": 1920, "height": 1080}, accept_downloads=True
        ).new_page()
        teacher.goto(server.url + "class")
        teacher.get_by_text("Create a participatory class").wait_for(timeout=120_000)
        teacher.locator(".teams-field input").fill(str(TEAMS))
        teacher.locator(".minutes-field input").fill("0")
        teacher.get_by_role("button", name="Create the class").click()
        teacher.locator(".join-code").wait_for(timeout=120_000)
        code = teacher.locator(".join-code").inner_text().strip()
        # the console opens in another browser only with the teacher code
        intruder = browser.new_context().new_page()
        intruder.goto(server.url + f"class/{code}")
        intruder.locator(".teacher-code-field input").fill("WRONG234", timeout=120_000)
        intruder.get_by_role("button", name="Open the console").click()
        intruder.get_by_text("wrong teacher code").wait_for(timeout=60_000)
        assert (
            intruder.locator(".join-code").count() == 0
            and intruder.get_by_text("Start the game").count() == 0
        )
        intruder.context.close()

        students = []
        for team in range(TEAMS):
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.goto(server.url + "join")
            page.locator(".join-code-field input").fill(code, timeout=120_000)
            page.locator(".team-field input").fill(f"Team {team:02d}")
            page.get_by_role("button", name="Join").click()
            page.get_by_text("Confidential brief").wait_for(timeout=120_000)
            students.append(page)
        tokens = [page.url.rstrip("/").split("/")[-1] for page in students]
        assert len(set(tokens)) == TEAMS
        teacher.get_by_text(f"Teams: {TEAMS} of {TEAMS} seats").wait_for(timeout=60_000)
        teacher.get_by_role("button", name="Start the game").click()

        ended: set[tuple[int, int]] = set()
        for round_ in range(1, ROUNDS + 1):
            if round_ == RECONNECT_ROUND:
                # a team loses its page and opens its seat again from its address
                lost = students[RECONNECT_TEAM]
                address = lost.url
                lost.context.close()
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                page.goto(address)
                page.get_by_text("Confidential brief").wait_for(timeout=120_000)
                assert f"Team {RECONNECT_TEAM:02d}" in page.inner_text("h1")
                students[RECONNECT_TEAM] = page
            teacher.get_by_text(f"Round {round_} of {ROUNDS}").first.wait_for(timeout=120_000)
            for team, page in enumerate(students):
                wait_for_any(
                    page,
                    teacher,
                    tmp_path,
                    f"team {team}, round {round_}",
                    [f"Round {round_} of {ROUNDS}", "Your part has ended"],
                )
                if page.get_by_text("Your part has ended").count():
                    ended.add((team, round_))
                    continue
                for field, value in scripted(team, round_).items():
                    page.locator(f".{field.replace('_', '-')}").get_by_role(
                        "button", name=value, exact=True
                    ).click()
                if round_ == 2 and team % 2 == 0:
                    page.locator(".propose-kpis label").click()
                if round_ == 3 and team % 2 == 1 and page.locator(".accept-kpis").count():
                    page.locator(".accept-kpis label").click()
                page.get_by_role("button", name="Submit decisions").click()
                # its decision is taken, or was the last and the round was played
                wait_for_any(
                    page,
                    teacher,
                    tmp_path,
                    f"team {team}, round {round_}",
                    ["Decided.", f"Round {round_ + 1} of", "The game is over"],
                )
            if shots and round_ == 3:
                students[0].set_viewport_size({"width": 1920, "height": 1080})
                students[0].evaluate("window.scrollTo(0, 0)")
                students[0].screenshot(path=f"{shots}/class-student.png")
                teacher.screenshot(path=f"{shots}/class-console.png")

        teacher.get_by_text("Debrief: would a committee have saved yours?").wait_for(timeout=180_000)
        rows = teacher.locator(".debrief-table tr")
        assert rows.count() == TEAMS // 2 + 1
        for i in range(1, rows.count()):
            cells = rows.nth(i).locator("td").all_inner_texts()
            assert (
                len(cells) == 7
                and all(cells[2:6])
                and cells[6].startswith(("As played it", "Every charter gives"))
            )
        if shots:
            teacher.locator(".debrief-table").scroll_into_view_if_needed()
            teacher.screenshot(path=f"{shots}/class-debrief.png")
        with teacher.expect_download(timeout=120_000) as download:
            teacher.locator(".export").get_by_role("button").click()
        archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
        log = json.loads(archive.read("decision-log.json"))
        (tmp_path / "decision-log.json").write_bytes(archive.read("decision-log.json"))  # to look at
        browser.close()

    assert len(log["rounds"]) == ROUNDS and log["ended"]
    played = {}
    for entry in log["rounds"]:
        assert entry["processed_seconds"] < 1.0, (entry["round"], entry["processed_seconds"])
        for item in entry["decisions"]:
            played[(entry["round"], item["seat"])] = item
    seats = {s["team"]: s["seat"] for s in log["seats"]}
    checked = 0
    for team in range(TEAMS):
        seat = seats[f"Team {team:02d}"]
        for round_ in range(1, ROUNDS + 1):
            item = played[(round_, seat)]
            if item["source"] == "team":
                assert {k: item[k] for k in scripted(team, round_)} == scripted(team, round_)
                checked += 1
            else:  # only a team whose part had ended decides nothing
                assert item["source"] == "default" and (team, round_) in ended
    assert checked >= TEAMS * 2
    assert all(item["source"] != "computer" for item in played.values())
