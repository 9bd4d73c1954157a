"""Broken rulesets are refused whole, with every error at its exact path."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from tiers import PURE_ENGINE

from games.engine import RulesetError, builtin_rulesets, load_ruleset_text, parse_ruleset, validate

pytestmark = PURE_ENGINE


def base() -> dict[str, Any]:
    return copy.deepcopy(builtin_rulesets()["king_of_the_hill"].source)


def errors_of(doc: Any) -> list[tuple[str, str]]:
    with pytest.raises(RulesetError) as exc:
        parse_ruleset(doc)
    return exc.value.errors


def test_every_builtin_ruleset_validates_and_round_trips_through_json() -> None:
    for gid, rs in builtin_rulesets().items():
        again = load_ruleset_text(json.dumps(rs.source), "json")
        assert again.id == gid


def test_unknown_zone_in_a_nested_condition_names_the_exact_path() -> None:
    doc = base()
    doc["rules"][2]["when"]["children"][1] = {"type": "entered_zone", "zoneId": "hil"}
    assert ("rules[2].when.children[1].zoneId", 'unknown zone "hil"') in errors_of(doc)


def test_all_errors_are_reported_together() -> None:
    doc = base()
    doc["rules"][0]["when"]["zoneId"] = "nowhere"
    doc["rules"][1]["do"][0]["key"] = "onHil"
    doc["map"]["zones"][1]["parent"] = "arnea"
    doc["objectives"][1]["target"] = {"zoneId": "hill", "pointId": "x"}
    paths = [p for p, _ in errors_of(doc)]
    assert "rules[0].when.zoneId" in paths
    assert "map.zones[1].parent" in paths
    assert "objectives[1].target" in paths
    assert "objectives[1].target.pointId" in paths


def test_structural_errors_name_fields_and_unknown_tags() -> None:
    doc = base()
    doc["rules"][0]["when"] = {"type": "entred_zone", "zoneId": "hill"}
    doc["rules"][1]["do"][0]["wh0"] = "same"
    del doc["map"]["zones"][0]["shape"]
    errs = dict(errors_of(doc))
    assert "does not match any of the expected tags" in errs["rules[0].when"]
    assert errs["rules[1].do[0].wh0"] == "unknown field"
    assert errs["map.zones[0].shape"] == "required field is missing"


def test_unknown_state_key_and_team_and_item_kind_are_refused() -> None:
    doc = copy.deepcopy(builtin_rulesets()["capture_the_flag"].source)
    doc["rules"][0]["do"][0]["key"] = "carying"  # written, so known; read elsewhere is fine
    doc["interactions"][0]["initiator"]["team"] = "green"
    doc["interactions"][1]["target"]["itemKinds"] = ["gold_flag"]
    doc["objectives"][0]["when"]["state"] = {"carried": True}
    errs = errors_of(doc)
    assert ("interactions[0].initiator.team", 'unknown team "green"') in errs
    assert ("interactions[1].target.itemKinds[0]", 'unknown item kind "gold_flag"') in errs
    assert any(p == "objectives[0].when.state.carried" for p, _ in errs)


def test_other_is_refused_where_nothing_binds_it() -> None:
    doc = base()
    doc["rules"][0]["do"].append({"type": "set_state", "who": "other", "key": "onHill", "value": 1})
    errs = errors_of(doc)
    assert (
        "rules[0].do[2].who",
        "other is only bound by proximity or a player interaction",
    ) in errs


def test_same_is_refused_in_on_start() -> None:
    doc = base()
    doc["onStart"].append({"type": "set_state", "who": "same", "key": "onHill", "value": False})
    assert any(p == "onStart[1].who" for p, _ in errors_of(doc))


def test_bad_template_reference_and_duplicate_ids_are_refused() -> None:
    doc = base()
    doc["rules"][0]["do"][1]["text"] = "{same.nmae} climbs"
    doc["rules"][1]["id"] = "climb"
    errs = errors_of(doc)
    assert any(p == "rules[0].do[1].text" and "same.nmae" in m for p, m in errs)
    assert ("rules[1].id", 'duplicate id "climb"') in errs


def test_shape_fields_are_checked_per_shape() -> None:
    doc = base()
    doc["map"]["zones"][0] = {"id": "arena", "shape": "circle", "center": [0, 0], "placeable": True}
    doc["map"]["zones"].append(
        {"id": "bow", "shape": "polygon", "points": [[0, 0], [10, 10], [10, 0], [0, 10]]}
    )
    errs = errors_of(doc)
    assert ("map.zones[0].radius", "required for a circle") in errs
    assert ("map.zones[2].points", "polygon edges must not cross") in errs


def test_auto_trigger_on_a_player_and_reserved_ids_are_refused() -> None:
    doc = copy.deepcopy(builtin_rulesets()["assassin"].source)
    doc["interactions"][0]["trigger"] = "auto"
    doc["interactions"][0]["id"] = "confirm"
    paths = [p for p, _ in errors_of(doc)]
    assert "interactions[0].trigger" in paths and "interactions[0].id" in paths


def test_yaml_syntax_errors_and_non_mappings_are_refused() -> None:
    with pytest.raises(RulesetError) as exc:
        load_ruleset_text("id: [unclosed", "yaml")
    assert "not valid YAML" in exc.value.errors[0][1]
    assert errors_of([1, 2]) == [("", "a ruleset must be a mapping at the top level")]


def test_validate_returns_an_empty_list_for_a_good_ruleset() -> None:
    assert validate(base()) == []
    assert validate(yaml.safe_load("id: x")) == [("name", "required field is missing")]


def test_a_directory_with_a_broken_file_is_refused_with_file_names(tmp_path: Path) -> None:
    from games.engine import load_dir

    good = builtin_rulesets()["tag"].source
    (tmp_path / "tag.json").write_text(json.dumps(good))
    broken = dict(good, id="tag2", minPlayers=50)
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(broken))
    (tmp_path / "notes.txt").write_text("ignored")
    with pytest.raises(RulesetError) as exc:
        load_dir(tmp_path)
    assert exc.value.errors == [("broken.yaml:minPlayers", "is above maxPlayers (40)")]
    (tmp_path / "broken.yaml").unlink()
    assert set(load_dir(tmp_path)) == {"tag"}
