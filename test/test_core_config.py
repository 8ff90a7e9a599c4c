"""TrackerConfig: self-describing fields, validation and construction from dicts."""
from dataclasses import fields

import pytest

from deepsort_ros.core import TrackerConfig


def test_every_field_is_a_described_scalar_with_range_or_choices():
    for spec in fields(TrackerConfig):
        assert type(spec.default) in (bool, int, float, str), spec.name
        assert spec.metadata["description"], spec.name
        assert ("range" in spec.metadata) != ("choices" in spec.metadata), spec.name


def test_defaults_validate_and_round_trip_through_a_dict():
    config = TrackerConfig().validate()
    assert TrackerConfig.from_dict(config.to_dict()) == config
    assert {spec["name"] for spec in TrackerConfig.field_specs()} == set(config.to_dict())


@pytest.mark.parametrize("key, value, words", [
    ("max_age", 0, ["max_age", "0", "range"]),
    ("state_space", "xyxy", ["state_space", "xyxy", "allowed"]),
    ("n_init", 2.5, ["n_init", "int"]),
    ("confidence_scaled_noise", "yes", ["confidence_scaled_noise", "bool"]),
])
def test_validate_names_field_value_and_rule(key, value, words):
    with pytest.raises(ValueError) as error:
        TrackerConfig.from_dict({key: value})
    for word in words:
        assert word in str(error.value)


def test_integers_are_accepted_for_float_fields():
    assert TrackerConfig.from_dict({"max_cosine_distance": 1}).max_cosine_distance == 1.0


def test_unknown_keys_are_named():
    with pytest.raises(ValueError, match="max_agee"):
        TrackerConfig.from_dict({"max_agee": 3})


def test_high_score_below_min_score_is_rejected():
    with pytest.raises(ValueError, match="high_score"):
        TrackerConfig.from_dict({"min_score": 0.6, "high_score": 0.4})
