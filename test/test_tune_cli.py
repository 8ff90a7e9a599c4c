"""deepsort-tune: coordinate descent on a known function, and on small synthetic MOT sequences whose best
settings are known."""
import json

import pytest

from deepsort_ros.tools import tune
from test_eval_cli import write_sequence


def bowl(settings):
    """Highest (0) at a=2, b=3; a and b start at 0."""
    a, b = settings.get("a", 0), settings.get("b", 0)
    return -float((a - 2) ** 2 + (b - 3) ** 2)


def test_coordinate_descent_reaches_the_optimum_one_setting_at_a_time():
    calls, moves_seen = [], []

    def objective(settings):
        calls.append(dict(settings))
        return bowl(settings)

    settings, score, moves = tune.coordinate_descent(
        objective, {"a": [0, 1, 2, 3, 4], "b": [0, 1, 2, 3, 4, 5]}, rounds=3, min_gain=0.05,
        start_value=lambda key: 0, on_move=lambda key, value, s: moves_seen.append((key, value, s)))
    assert settings == {"a": 2, "b": 3} and score == 0.0
    assert [(m["setting"], m["value"], m["mean_HOTA"]) for m in moves] == [("a", 2, -9.0), ("b", 3, 0.0)]
    assert moves_seen == [("a", 2, -9.0), ("b", 3, 0.0)]
    # The start values are not scored again: 1 start + 4 + 5 in round 1, 4 + 5 in round 2 (no move, stop).
    assert len(calls) == 1 + 9 + 9
    assert calls[1:10] == [{"a": 1}, {"a": 2}, {"a": 3}, {"a": 4}] + [{"a": 2, "b": b} for b in (1, 2, 3, 4, 5)]


def test_moves_must_gain_more_than_min_gain_and_ties_keep_the_first_value():
    flat = {"a": [0, 1, 2]}
    def small_gain(settings):
        return 0.04 if settings.get("a", 0) else 0.0      # a = 1 and a = 2 tie

    assert tune.coordinate_descent(small_gain, flat, 3, 0.05, lambda key: 0)[0] == {}
    assert tune.coordinate_descent(small_gain, flat, 3, 0.03, lambda key: 0)[0] == {"a": 1}
    # One round only: b's move could only follow a's in a second round.
    chained = {"b": [0, 1], "a": [0, 1]}

    def needs_a_first(settings):
        return settings.get("a", 0) + 2 * settings.get("a", 0) * settings.get("b", 0)

    assert tune.coordinate_descent(needs_a_first, chained, 1, 0.05, lambda key: 0)[0] == {"a": 1}
    assert tune.coordinate_descent(needs_a_first, chained, 2, 0.05, lambda key: 0)[0] == {"a": 1, "b": 1}


def test_parse_search_checks_every_value_against_the_tracker_config():
    assert tune.parse_search(["n_init=2,3, 3", "matching=cascade,global"]) == {
        "n_init": [2, 3], "matching": ["cascade", "global"]}
    for bad, message in ((["n_init"], "KEY=V1"), (["n_init="], "KEY=V1"), (["n_init=2", "n_init=3"], "twice"),
                         (["no_such_setting=1"], "no_such_setting"), (["n_init=0"], "n_init"),
                         (["matching=greedy"], "matching")):
        with pytest.raises(ValueError, match=message):
            tune.parse_search(bad)
    with pytest.raises(ValueError, match="high_score"):
        tune.parse_search(["high_score=0.5"], {"min_score": 0.6})


def named_sequence(root, name, **kwargs):
    seq = write_sequence(root, **kwargs)
    info = seq / "seqinfo.ini"
    info.write_text(info.read_text().replace("name=synthetic", f"name={name}"))
    return seq


def run_tune(capsys, *argv):
    code = tune.main([str(a) for a in argv] + ["--no-progress"])
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    return code, (json.loads(lines[-1]) if code == 0 else None), captured.err


def test_tuning_finds_the_setting_that_scores_best_and_reports_validation(tmp_path, capsys):
    # Perfect detections: n_init=1 reports every frame of every person (HOTA 100); the default n_init hides each
    # person's first frames, and n_init=40 never confirms anyone in 30 frames.
    first, second = named_sequence(tmp_path / "a", "first"), named_sequence(tmp_path / "b", "second")
    held_out = named_sequence(tmp_path / "c", "held-out")
    code, summary, err = run_tune(capsys, first, second, "--search", "n_init=40,1", "--search",
                                  "max_age=30,60", "--config", "output_box=detection", "--validate", held_out)
    assert code == 0, err
    assert summary["settings"] == {"n_init": 1}
    assert summary["mean_HOTA"] == pytest.approx(100.0) and summary["start_mean_HOTA"] < 100.0
    assert summary["moves"] == [{"setting": "n_init", "value": 1, "mean_HOTA": pytest.approx(100.0)}]
    assert set(summary["sequences"]) == {"first", "second"}
    assert summary["mean"]["HOTA"] == pytest.approx(100.0)
    validation = summary["validation"]
    assert list(validation["chosen"]["sequences"]) == ["held-out"]
    assert validation["chosen"]["mean"]["HOTA"] == pytest.approx(100.0)
    assert validation["start"]["mean"]["HOTA"] == pytest.approx(summary["start_mean_HOTA"])
    assert "n_init=1: mean HOTA 100.000" in err
    # Start, n_init 40 and 1; round 1 then tries max_age 30 and 60 (20 is the start); round 2 n_init 40 again is
    # remembered, max_age 30 and 60 with n_init 1 are too.
    assert summary["evaluations"] == 5


def test_as_defaults_keeps_each_appearance_preset(tmp_path, capsys):
    # Motion alone brings its own n_init (perception's motion-only preset): as a new default n_init changes
    # nothing there, as an override it does.
    seq = named_sequence(tmp_path / "a", "first")
    argv = [seq, "--appearance", "none", "--search", "n_init=40,1", "--config", "output_box=detection"]
    code, as_defaults, err = run_tune(capsys, *argv, "--as-defaults")
    assert code == 0, err
    assert as_defaults["settings"] == {} and as_defaults["moves"] == []
    assert as_defaults["mean_HOTA"] == as_defaults["start_mean_HOTA"] < 100.0
    code, overriding, err = run_tune(capsys, *argv)
    assert code == 0, err
    assert overriding["settings"] == {"n_init": 1} and overriding["mean_HOTA"] == pytest.approx(100.0)


@pytest.mark.parametrize("extra, message", [
    (["--search", "n_init=0,1"], "n_init"),
    (["--search", "n_init=1", "--config", "n_init=2"], "both --config and --search"),
    (["--search", "n_init=1", "--rounds", "0"], "--rounds"),
    (["--search", "n_init=1", "--min-gain", "-1"], "--min-gain"),
    (["--search", "n_init=1", "--validate", "SELF"], "also a tuning SEQ_DIR"),
    (["--search", "n_init=1", "--colour-weight", "0.2", "--appearance", "none"], "--colour-weight"),
])
def test_errors_exit_2_with_a_message(tmp_path, capsys, extra, message):
    seq = named_sequence(tmp_path / "a", "first")
    code, _, err = run_tune(capsys, seq, *[seq if item == "SELF" else item for item in extra])
    assert code == 2 and message in err and err.startswith("deepsort-tune:")
