"""A plan's instruments: chosen by id and version, checked against the definitions with each
problem at its field, named thresholds resolved, and old plans read with the product's own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from domain.criteria import InstrumentChoices
from domain.plan_yaml import PlanError, dump_plan, parse_plan
from instrument_library import built_in, load_catalogue
from tests.plan.examples import SMALL, replace_once, small_text

ROOT = Path(__file__).resolve().parents[2]
PBIS_TFI = ROOT / "examples" / "pbis-tfi.yaml"
runner = CliRunner()


def with_instruments(section: str, thresholds: str = "") -> str:
    text = small_text()
    if thresholds:
        text = replace_once(text, "  full_implementation:\n    fidelity_min_percent: 50\n",
                            f"  initial_implementation:\n    thresholds:\n{thresholds}"
                            "  full_implementation:\n    fidelity_min_percent: 50\n")
    return replace_once(text, "pd:\n  trainers:", f"instruments:\n{section}pd:\n  trainers:")


def problems(text: str) -> dict[str, str]:
    with pytest.raises(PlanError) as refused:
        parse_plan(text, instruments=built_in())
    return {issue.path: f"{issue.value} {issue.message}" for issue in refused.value.errors}


def test_an_old_plan_keeps_the_products_instruments():
    plan = parse_plan(small_text(), instruments=built_in())
    assert plan.instruments == InstrumentChoices()
    assert plan.exit_criteria.instruments == plan.instruments, "every site carries the choice"
    assert (plan.instruments.capacity.ref, plan.instruments.fidelity.ref) == (
        "dca@6.0", "practitioner-fidelity@1")


@pytest.mark.parametrize("section, thresholds, path, message", [
    ("  fidelity: {id: tfx, version: '2.1'}\n", "", "instruments.fidelity.id",
     "'tfx' no instrument definition 'tfx' is known"),
    ("  fidelity: {id: tfi, version: '3.0'}\n", "", "instruments.fidelity.version",
     "'3.0' 'tfi' has no version '3.0' (known: 2.1)"),
    ("  capacity: {id: tfi, version: '2.1'}\n", "", "instruments.capacity.id",
     "'tfi' tfi@2.1 gives fidelity evidence, not capacity"),
    ("  fidelity: {id: tfi, version: '2.1'}\n",
     "      - {instrument: tfi, part: tier-4, at_least: 70}\n",
     "exit_criteria.initial_implementation.thresholds[0].part",
     "'tier-4' tfi@2.1 has no tier 'tier-4' (its tiers: tier-1, tier-2, tier-3"),
    ("  capacity: {id: dca, version: '6.0'}\n",
     "      - {instrument: dca, part: leadrship, at_least: 80}\n",
     "exit_criteria.initial_implementation.thresholds[0].part",
     "'leadrship' dca@6.0 has no subscale 'leadrship' (its subscales: leadership, competency"),
    ("  capacity: {id: dca, version: '6.0'}\n",
     "      - {instrument: dca, threshold: per-subscale}\n",
     "exit_criteria.initial_implementation.thresholds[0].threshold",
     "'per-subscale' dca@6.0 names no threshold 'per-subscale' (its thresholds: total-80, "
     "subscale-80)"),
    ("  capacity: {id: dca, version: '6.0'}\n",
     "      - {instrument: tfi, part: tier-1, at_least: 70}\n",
     "exit_criteria.initial_implementation.thresholds[0].instrument",
     "'tfi' the plan uses no instrument 'tfi'"),
])
def test_unknown_instruments_subscales_tiers_and_thresholds_are_named(section, thresholds, path,
                                                                       message):
    found = problems(with_instruments(section, thresholds))
    assert path in found, found
    assert found[path].startswith(message), found[path]


def test_named_thresholds_take_their_part_and_mark_from_the_definition():
    plan = parse_plan(PBIS_TFI.read_text(), instruments=built_in())
    dca, tfi = plan.exit_criteria.initial_implementation.thresholds
    assert (dca.part, dca.at_least, tfi.part, tfi.at_least, tfi.consecutive) == (
        "every", 80, "tier-1", 70, 2)
    again = parse_plan(dump_plan(plan), instruments=built_in())
    assert again == plan, "the canonical form round-trips, thresholds resolved"
    assert "instruments:" in dump_plan(plan) and dump_plan(plan).count("fidelity:\n    id: tfi") == 1


def test_without_the_definitions_a_named_threshold_is_refused_rather_than_guessed():
    with pytest.raises(PlanError) as refused:
        parse_plan(PBIS_TFI.read_text())
    assert {e.path for e in refused.value.errors} == {
        "exit_criteria.initial_implementation.thresholds[0].threshold",
        "exit_criteria.initial_implementation.thresholds[1].threshold"}


def test_the_instruments_are_chosen_in_one_place():
    text = replace_once(small_text(), "  full_implementation:\n    fidelity_min_percent: 50\n",
                        "  instruments:\n    fidelity: {id: tfi, version: '2.1'}\n"
                        "  full_implementation:\n    fidelity_min_percent: 50\n")
    assert "exit_criteria.instruments" in problems(text)


def test_rollout_plan_validate_names_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(with_instruments("  fidelity: {id: tfi, version: '2.1'}\n",
                                    "      - {instrument: tfi, part: tier-9, at_least: 70}\n"))
    result = runner.invoke(app, ["plan", "validate", "--json", str(bad)])
    assert result.exit_code == 2, result.output
    errors = json.loads(result.output)["errors"]
    assert [(e["path"], e["value"]) for e in errors] == [
        ("exit_criteria.initial_implementation.thresholds[0].part", "'tier-9'")]
    assert errors[0]["line"] is not None
    assert runner.invoke(app, ["plan", "validate", str(PBIS_TFI)]).exit_code == 0


def test_a_states_own_definitions_replace_the_products(tmp_path):
    """A licensed file with the same id and version takes the product's place; its text is what
    forms and audits show, and a plan may name a threshold only it defines."""
    licensed = (ROOT / "instrument_library" / "definitions" / "tfi-2.1.yaml").read_text()
    licensed = licensed.replace('label: "Team has the members it needs"',
                                'label: "Team composition (licensed wording)"', 1)
    licensed = licensed.replace("  - {id: every-tier,",
                                "  - {id: tier-1-80, label: Tier I at 80%, part: tier-1, at_least: 80}\n"
                                "  - {id: every-tier,")
    own = tmp_path / "definitions"
    own.mkdir()
    (own / "tfi.yaml").write_text(licensed)
    catalogue = load_catalogue(own)
    assert catalogue.require("tfi", "2.1").items[0].label == "Team composition (licensed wording)"
    assert catalogue.notes == [], "same item ids: nothing to say"
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(with_instruments("  fidelity: {id: tfi, version: '2.1'}\n",
                                          "      - {instrument: tfi, threshold: tier-1-80}\n"))
    assert runner.invoke(app, ["plan", "validate", str(plan_file)]).exit_code == 2
    result = runner.invoke(app, ["plan", "validate", "--instruments", str(own), str(plan_file)])
    assert result.exit_code == 0, result.output
    (own / "broken.yaml").write_text("id: broken\nversion: '1'\n")
    result = runner.invoke(app, ["plan", "validate", "--instruments", str(own), str(SMALL)])
    assert result.exit_code == 2 and "broken.yaml" in result.output
    assert "required field 'title' is missing" in result.output
