"""The stress report as a decision: the recommendation, effort in money, bundles and the
frontier, the charter's own ranges, and every number that used to mislead."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO_ROOT
from test_stress import EVENT, SUBSIDY, TINY, stress

from sim.stress.charter import CharterError, parse_charter
from sim.stress.runner import QUICK_PLAN, Plan
from sim.stress.words import share_words

# ------------------------------------------------------------------ words


@pytest.mark.parametrize(
    ("p", "words"),
    [
        (0.95, "19 in 20"),
        (0.75, "3 in 4"),
        (0.5, "1 in 2"),
        (0.27, "about 1 in 4"),
        (0.72, "about 7 in 10"),
        (0.096, "about 1 in 10"),
        (0.055, "about 1 in 20"),
        (0.015, "3 in 200"),
        (0.0004, "fewer than 1 in 1,000"),
        (0.0, "none"),
        (1.0, "all"),
    ],
)
def test_a_share_in_words_keeps_its_meaning(p: float, words: str) -> None:
    assert share_words(p) == words


def test_every_share_in_words_is_within_a_tenth_of_it() -> None:
    for p in np.linspace(0.001, 0.999, 999):
        words = share_words(float(p))
        n, d = (int(x.replace(",", "")) for x in re.findall(r"[\d,]+", words)[:2])
        assert abs(n / d - p) <= 0.1 * min(p, 1 - p) + 5e-4, (p, words)


def test_boxes_of_different_failure_are_not_written_alike() -> None:
    from sim.stress.analysis import _box_sentence

    box = {"conditions": [], "share_of_futures": 0.5}
    low = _box_sentence({**box, "failure_rate": 0.055})
    high = _box_sentence({**box, "failure_rate": 0.096})
    assert low != high and "5.5%" in low and "9.6%" in high


def test_outcome_sentences_stay_grammatical_at_zero() -> None:
    from sim.stress.analysis import outcome_sentences

    zero = {"estimate": 0.0, "low": 0.0, "high": 0.0}
    sentences = outcome_sentences(
        {"failed": zero, "success": zero, "underperforming": zero, "terminated": zero}, 26
    )
    assert sentences["failed"].startswith("No alliances like this one fail within 26 weeks")
    assert sentences["success"].startswith("None meet their objectives")
    for text in sentences.values():
        assert "of the are" not in text and "of the meet" not in text and text[0].isupper()


# ------------------------------------------------------------------ one report, read as a manager would

BUDGET = {"cost_per_person_week": 2500, "currency": "EUR", "shared_budget": 120000,
          "cost_split": {"SunBuild": 0.5, "PanelWorks": 0.5}}  # fmt: skip


def subsidy_with(**fields) -> str:
    data = yaml.safe_load(SUBSIDY.read_text())
    data.update(fields)
    return yaml.safe_dump(data, sort_keys=False)


@functools.cache
def written(plan: Plan = TINY) -> tuple[Path, dict]:
    import tempfile

    from sim.stress.report import write_report

    out = Path(tempfile.mkdtemp(prefix="stress-decision-"))
    charter = parse_charter(subsidy_with(budget=BUDGET))
    return out, write_report(stress(charter, plan), out, SUBSIDY)


def test_the_recommendation_opens_every_format_with_its_cost_and_interval() -> None:
    out, report = written()
    rec = report["recommendation"]
    html, markdown = (out / "report.html").read_text(), (out / "report.md").read_text()
    assert html.index("What to do before signing") < html.index("Headline")
    assert markdown.index("What to do before signing") < markdown.index("## Headline")
    if rec["change"] is None:
        assert rec["sentence"].startswith("No clause change is clearly better")
    else:
        assert (
            "95% interval" in rec["sentence"] and "person-weeks" in rec["sentence"]
        ) or "no effort" in rec["sentence"]
        option = next(o for o in [*report["clauses"], *report["bundles"]] if o["change"] == rec["change"])
        assert option["verdict"] == "helps"
        assert rec["change"] in {p["change"] for p in report["frontier"] if p["on_frontier"]}
        if not option["free"]:
            assert "EUR" in rec["sentence"]


def test_effort_is_told_apart_and_priced() -> None:
    out, report = written()
    for c in report["clauses"]:
        assert c["cost"] == pytest.approx(2500 * c["effort_person_weeks"])
        assert c["cost_setup"] == pytest.approx(2500 * c["effort_setup_person_weeks"])
    clauses = pd.read_csv(out / "clauses.csv")
    assert {"effort_setup_person_weeks", "effort_recurring_person_weeks", "cut_per_person_week"} <= set(
        clauses
    )
    assert "EUR" in (out / "report.md").read_text() and "EUR" in (out / "report.html").read_text()
    assert report["money"]["shared_budget"] == 120000


def test_value_rank_orders_what_a_change_buys_for_its_effort() -> None:
    _, report = written()
    ranked = sorted((c for c in report["clauses"] if c["value_rank"]), key=lambda c: c["value_rank"])
    assert all(c["verdict"] == "helps" for c in ranked)
    paid = [c for c in ranked if not c["free"]]
    free = [c for c in ranked if c["free"]]
    assert ranked[: len(free)] == free, "a change that costs nothing comes first"
    cuts = [c["cut_per_person_week"] for c in paid]
    assert cuts == sorted(cuts, reverse=True)
    assert all(c["value_rank"] is None for c in report["clauses"] if c["verdict"] != "helps")


def test_the_frontier_is_what_no_other_option_beats() -> None:
    _, report = written()
    points = report["frontier"]
    for p in points:
        beaten = any(
            q["effort_person_weeks"] <= p["effort_person_weeks"]
            and q["failure"] <= p["failure"]
            and (q["effort_person_weeks"], q["failure"]) != (p["effort_person_weeks"], p["failure"])
            for q in points
        )
        assert p["on_frontier"] == (not beaten), p


def test_bundles_combine_the_best_single_changes_on_the_same_draws() -> None:
    _, report = written()
    singles = {c["change"]: c for c in report["clauses"]}
    assert report["bundles"], "the subsidy example has several changes that cut failure"
    parts = {part for b in report["bundles"] for part in b["parts"]}
    assert len(parts) <= TINY.bundle_from
    for part in parts:
        assert singles[part]["delta_failure"]["estimate"] < 0
    assert {len(b["parts"]) for b in report["bundles"]} <= {2, 3}


def test_a_charters_own_ranges_are_ranked_beside_the_stressors() -> None:
    out, report = written()
    fields = [i["field"] for i in report["input_importance"]]
    assert sorted(fields) == sorted(report["uncertain_fields"])
    shares = [i["share_of_spread"] for i in report["input_importance"]]
    assert sum(shares) == pytest.approx(1.0) or sum(shares) == 0.0
    swings = [abs(i["swing"]["estimate"]) for i in report["input_importance"]]
    assert swings == sorted(swings, reverse=True)
    assert 'id="fig-inputs"' in (out / "report.html").read_text()


def test_the_charter_is_read_back_with_every_checklist_answer() -> None:
    out, report = written()
    parameters = {m["parameter"]: m for m in report["charter_mapping"]}
    assert parameters["triggers.shock_threshold"]["value"] == "0.15"
    assert "over the draws" in parameters["market.capacity_sd"]["value"], "a range's span is shown"
    assert len(report["checklist_answers"]) == 9
    assert all(a["effect"] for a in report["checklist_answers"])
    html = (out / "report.html").read_text()
    assert "recorded only" in html and "dynamics.termination_criteria" in html


def test_no_machine_path_nor_library_name_reaches_a_report() -> None:
    out, _ = written()
    for name in ("report.html", "report.md", "report.json"):
        text = (out / name).read_text()
        for leak in (str(REPO_ROOT), str(out), "scikit-learn", "lifelines", "/home/", "/work/", "/tmp/"):
            assert leak not in text, (name, leak)
    assert "Glossary" in (out / "report.md").read_text()


def test_nothing_is_reported_as_plus_zero_without_a_word() -> None:
    """A stressor, clause change or range that changed no alliance's fate says so instead of
    "+0.0 pts (+0.0 to +0.0)"."""
    out, report = written()
    for row in report["clauses"] + report["bundles"]:
        d = row["delta_failure"]
        if d["low"] == d["high"] == 0.0:
            assert row["note"] and row["verdict"] == "no effect", row
    for row in report["input_importance"]:
        s = row["swing"]
        if s["low"] == s["high"] == 0.0:
            assert row["note"], row
    for name in ("report.md", "report.html"):
        assert "+0.0 pts to +0.0 pts" not in (out / name).read_text(), name


def test_a_quick_report_flags_an_unsettled_ranking() -> None:
    """The subsidy example's quick report: its first clause changes' intervals overlap, and it
    says so in every format and in the recommendation."""
    out, report = written(QUICK_PLAN)
    assert report["quick"]
    assert all(c["provisional"] for c in report["clauses"])
    order = report["ranking"]
    top = report["clauses"][0]["delta_failure"]
    overlapping = [
        c["change"]
        for c in report["clauses"][1:]
        if c["delta_failure"]["low"] <= top["high"] and c["verdict"] != "hurts"
    ]
    assert order["overlapping"] == overlapping
    assert order["settled"] == (not overlapping)
    assert not order["settled"], "at this plan the subsidy example's ranking is not settled"
    assert "--quick" in order["warning"]
    assert "not settled" in report["recommendation"]["sentence"]
    for name in ("report.md", "report.html"):
        assert "is not settled" in (out / name).read_text(), name


# ------------------------------------------------------------------ figures scaled and labelled


def test_the_survival_chart_is_scaled_to_its_data() -> None:
    from sim.stress.figures import draw_survival

    weeks = np.arange(27)
    curves = pd.concat(
        pd.DataFrame({"run": run, "week": weeks, "survival": 1 - k * weeks / 2000, "low": 1 - k * weeks / 1500,
                      "high": 1 - k * weeks / 3000})
        for k, run in enumerate(("charter as written", "handshake", "full framework"), start=1)
    )  # fmt: skip
    fig = draw_survival(curves)
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    assert low > 0.9 and high >= 1.0, "lines in the top 5% are not drawn from 0"
    labels = ax.get_legend().get_texts()
    assert {t.get_text() for t in labels} >= {
        "charter as written",
        "handshake",
        "full framework",
        "95% interval",
    }
    styles = {line.get_linestyle() for line in ax.get_lines()}
    assert len(styles) == 3, "each design has its own line style: none hides under another"


def test_early_warning_panels_label_their_axes_and_band() -> None:
    from sim.stress.figures import draw_early_warning

    series = [
        {"weeks_before": w, **{f"{n}_{k}": 0.5 for n in ("trust", "health") for k in
                                ("failed_mean", "failed_q25", "failed_q75", "others_mean")}}
        for w in range(52, 0, -1)
    ]  # fmt: skip
    fig = draw_early_warning({"series": series})
    for ax in fig.axes:
        assert ax.get_ylabel() and ax.get_xlabel()
    legend = {t.get_text() for t in fig.axes[0].get_legend().get_texts()}
    assert any("middle half" in t for t in legend)


# ------------------------------------------------------------------ the charter says more


def test_a_charter_without_a_termination_clause_is_never_ended_by_criteria() -> None:
    from sim.stress.mapping import NO_TERMINATION, model_overrides

    charter = parse_charter(subsidy_with(termination="none"))
    assert not charter.termination.clause
    from sim.stress.mapping import draw_charter

    drawn, _ = draw_charter(charter, np.random.default_rng(0))
    assert model_overrides(drawn, {"ip_exposure": 0.5})["dynamics.termination_criteria"] == NO_TERMINATION
    report = __import__("sim.stress.report", fromlist=["build"]).build(stress(charter, TINY))
    assert report["outcomes"]["terminated"]["estimate"] == 0.0 or all(
        cause != "terminated" for cause in report["causes"]
    )


def test_new_success_measures_and_a_budget_are_accepted_and_checked() -> None:
    data = yaml.safe_load(EVENT.read_text())
    data["partners"][0]["success_measure"] = "clients_won"
    data["partners"][1]["success_measure"] = "leads"
    parse_charter(yaml.safe_dump(data))
    data["budget"] = {"cost_per_person_week": 900, "cost_split": {"Design practice": 0.7}}
    with pytest.raises(CharterError, match="cost_split: the shares must add up to 1"):
        parse_charter(yaml.safe_dump(data))
    data["budget"] = {"cost_per_person_week": 900, "cost_split": {"Design practice": 1.0}}
    with pytest.raises(CharterError, match="cost_split must name every partner"):
        parse_charter(yaml.safe_dump(data))
    data["budget"] = {"cost_per_person_week": -1}
    with pytest.raises(CharterError, match=r"budget\.cost_per_person_week"):
        parse_charter(yaml.safe_dump(data))


def test_a_partner_list_of_one_is_refused_without_dumping_it() -> None:
    data = yaml.safe_load(SUBSIDY.read_text())
    data["partners"] = data["partners"][:1]
    with pytest.raises(CharterError) as error:
        parse_charter(yaml.safe_dump(data), "one.yaml")
    message = str(error.value)
    assert "partners" in message and "SunBuild" not in message and "{" not in message, message


def test_report_json_matches_its_published_schema() -> None:
    import jsonschema

    out, _ = written()
    schema = json.loads((REPO_ROOT / "docs" / "report.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(json.loads((out / "report.json").read_text()), schema)


class Outline:
    """Headings, tables (their row counts) and images of an HTML page."""

    def __init__(self, page: str) -> None:
        from html.parser import HTMLParser

        self.headings: list[str] = []
        self.rows: list[int] = []
        self.images: list[str] = []
        outline = self

        class Parser(HTMLParser):
            heading: list[str] | None = None

            def handle_starttag(self, tag: str, attrs: list) -> None:
                if tag in ("h1", "h2", "h3"):
                    self.heading = []
                elif tag == "table":
                    outline.rows.append(0)
                elif tag == "tr":
                    outline.rows[-1] += 1
                elif tag == "img":
                    outline.images.append(dict(attrs).get("src", ""))

            def handle_data(self, data: str) -> None:
                if self.heading is not None:
                    self.heading.append(data)

            def handle_endtag(self, tag: str) -> None:
                if tag in ("h1", "h2", "h3") and self.heading is not None:
                    outline.headings.append(" ".join("".join(self.heading).split()))
                    self.heading = None

        Parser().feed(page)


def test_report_md_renders_the_same_content_as_the_html() -> None:
    """report.md, rendered as Markdown (tables included), has the HTML page's headings, its
    tables with as many rows, and its figures, which are files beside it."""
    from markdown_it import MarkdownIt

    out, _ = written()
    html = Outline((out / "report.html").read_text())
    rendered = Outline(MarkdownIt("commonmark").enable("table").render((out / "report.md").read_text()))
    assert rendered.headings == html.headings
    assert rendered.rows == html.rows
    assert len(rendered.images) == len(html.images) == 8
    for src in rendered.images:
        assert (out / src).stat().st_size > 10_000, src


def test_when_no_change_clearly_helps_the_recommendation_says_so() -> None:
    from types import SimpleNamespace

    from sim.stress.decision import recommendation

    charter = parse_charter(SUBSIDY.read_text())
    result = SimpleNamespace(charter=charter, plan=SimpleNamespace(rough=False))

    def row(change: str, estimate: float, low: float, high: float, effort: float) -> dict:
        return {
            "change": change, "kind": "single", "parts": [change], "verdict": "no clear effect",
            "delta_failure": {"estimate": estimate, "low": low, "high": high},
            "effort_person_weeks": effort, "failure_probability": {"estimate": 0.3 + estimate},
        }  # fmt: skip

    singles = [
        row("add shared KPIs", -0.01, -0.03, 0.01, 2.0),
        row("remove the health checks", 0.004, -0.01, 0.02, -3.0),
    ]
    frontier = [{"change": "charter as written", "kind": "charter", "failure": 0.3, "on_frontier": True}]
    rec = recommendation(result, singles, [], frontier, settled=True)
    assert rec["change"] is None
    assert rec["sentence"].startswith("No clause change is clearly better than the charter as written")
    assert (
        "add shared KPIs" in rec["sentence"]
        and "-1.0 pts" in rec["sentence"]
        and "+1.0 pts" in rec["sentence"]
    )
    assert rec["saving"].startswith("To remove the health checks would save 3.0 person-weeks")


def test_every_condition_scenario_discovery_splits_on_is_in_words() -> None:
    from sim.stress.runner import FEATURES
    from sim.stress.stressors import DESCRIBE

    assert [f for f in FEATURES if f not in DESCRIBE] == []
    _, report = written()
    for text in report["scenarios"]["sentences"]:
        assert not re.search(r"\b(scenario|dynamics|market|alliance)\.\w+", text), text


def test_a_long_partner_name_is_cut_in_a_figure_and_the_field_kept() -> None:
    from sim.stress.figures import LABEL_CHARS, short

    name = "Municipal utility number 10 with a very long legal name GmbH & Co. KG"
    label = short(f"{name}: outside option (0 to 0.4)")
    assert len(label) <= LABEL_CHARS and label.endswith(": outside option (0 to 0.4)")
    assert short(name + name) == (name + name)[: LABEL_CHARS - 1] + "\u2026"
