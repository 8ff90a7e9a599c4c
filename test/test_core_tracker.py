"""Tracker behaviour: life cycle, ids, classes, appearance after occlusion, camera motion, input checks."""
import numpy as np
import pytest

from deepsort_ros.core import Tracker, TrackerConfig, Tracks, TrackState


def box(cx, cy, w=40.0, h=100.0):
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def config(**overrides):
    return TrackerConfig.from_dict(overrides)


def step(tracker, centres, **kwargs):
    boxes = np.array([box(*c) for c in centres]).reshape(-1, 4)
    return tracker.update(boxes, np.full(len(boxes), 0.9), **kwargs)


def test_empty_frames_and_empty_tracker():
    tracker = Tracker()
    tracks = tracker.update(np.zeros((0, 4)), np.zeros(0))
    assert isinstance(tracks, Tracks) and len(tracks) == 0
    assert tracks.boxes_xyxy.shape == (0, 4)
    assert len(tracker.update(np.zeros((0, 4)), np.zeros(0), features=np.zeros((0, 8)))) == 0


def test_output_types_follow_the_contract():
    tracker = Tracker(config(n_init=1))
    tracks = step(tracker, [(100, 100), (300, 100)])
    assert tracks.ids.dtype == np.int64 and tracks.classes.dtype == np.int64
    assert tracks.boxes_xyxy.dtype == np.float64 and tracks.boxes_xyxy.shape == (2, 4)
    assert tracks.scores.dtype == np.float64 and tracks.states.dtype == np.int8
    assert (tracks.states == TrackState.CONFIRMED).all()


def test_tentative_tracks_are_confirmed_after_n_init_hits():
    tracker = Tracker(config(n_init=3, report_tentative=False))
    assert len(step(tracker, [(100, 100)])) == 0
    assert len(step(tracker, [(102, 100)])) == 0
    tracks = step(tracker, [(104, 100)])
    assert len(tracks) == 1 and tracks.states[0] == TrackState.CONFIRMED


def test_reporting_tentative_tracks_on_request():
    tracks = step(Tracker(config(n_init=3, report_tentative=True)), [(100, 100)])
    assert len(tracks) == 1 and tracks.states[0] == TrackState.TENTATIVE


def test_a_tentative_track_dies_on_its_first_miss():
    tracker = Tracker(config(n_init=3))
    step(tracker, [(100, 100)])
    first_key = tracker.store.keys[0]
    step(tracker, [])
    assert len(tracker.store) == 0
    step(tracker, [(100, 100)])
    assert tracker.store.keys[0] > first_key


def test_a_confirmed_track_coasts_for_max_age_frames_then_dies():
    tracker = Tracker(config(n_init=1, max_age=3, report_coasting_frames=0))
    track_id = step(tracker, [(100, 100)]).ids[0]
    for _ in range(3):
        assert len(step(tracker, [])) == 0                  # coasting is not reported by default
        assert tracker.store.states[0] == TrackState.COASTING
    assert step(tracker, [(100, 100)]).ids.tolist() == [track_id]
    for _ in range(4):
        step(tracker, [])
    assert len(tracker.store) == 0


def test_coasting_tracks_are_reported_at_their_prediction_on_request():
    tracker = Tracker(config(n_init=1, report_coasting_frames=2))
    for x in (100, 110, 120, 130):
        step(tracker, [(x, 100)])
    coasting = step(tracker, [])
    assert coasting.states.tolist() == [TrackState.COASTING]
    assert coasting.boxes_xyxy[0, 0] + 20 > 130               # predicted further along its motion
    step(tracker, [])
    assert len(step(tracker, [])) == 0                       # past report_coasting_frames


def test_max_age_seconds_applies_when_timestamps_are_given():
    tracker = Tracker(config(n_init=1, max_age=1000, max_age_s=0.5))
    step(tracker, [(100, 100)], timestamp=10.0)
    step(tracker, [], timestamp=10.1)
    step(tracker, [], timestamp=10.4)
    assert len(tracker.store) == 1
    step(tracker, [], timestamp=10.7)
    assert len(tracker.store) == 0


def test_dropped_frames_predict_further():
    tracker = Tracker(config(n_init=1, report_coasting_frames=0))
    for frame in range(6):
        step(tracker, [(100 + 10 * frame, 100)], timestamp=frame * 0.1)
    # Frames 6..8 were dropped: the detection 40 px on must still match the same track.
    tracks = step(tracker, [(190, 100)], timestamp=0.9)
    assert len(tracks) == 1 and tracks.ids[0] == 1


def test_ids_increase_and_are_never_reused():
    tracker = Tracker(config(n_init=1, max_age=1, report_coasting_frames=0))
    seen = []
    for frame in range(12):
        centres = [(100 + 300 * (frame % 3), 100)]          # each object lives one frame, then vanishes
        seen.extend(step(tracker, centres).ids.tolist())
    assert seen == sorted(seen) and len(set(seen)) == len(seen)


def test_classes_never_match_each_other():
    tracker = Tracker(config(n_init=1, report_coasting_frames=0))
    boxes = np.array([box(100, 100), box(100, 100)])
    tracks = tracker.update(boxes, np.array([0.9, 0.9]), classes=np.array([0, 1]))
    assert len(tracks) == 2
    by_class = dict(zip(tracks.classes.tolist(), tracks.ids.tolist()))
    # Swap which class comes first: each id must stay with its class.
    tracks = tracker.update(boxes, np.array([0.9, 0.9]), classes=np.array([1, 0]))
    assert dict(zip(tracks.classes.tolist(), tracks.ids.tolist())) == by_class
    # A lone detection of a third class starts its own track instead of continuing one.
    tracks = tracker.update(boxes[:1], np.array([0.9]), classes=np.array([2]))
    assert tracks.ids.tolist() == [3]


def _swap_during_occlusion(use_features):
    """Two people stand 50 px apart, vanish for 4 frames and come back having swapped places."""
    tracker = Tracker(config(n_init=1, max_cosine_distance=0.3))
    appearance = {"a": np.array([1.0, 0.0, 0.0, 0.0]), "b": np.array([0.0, 1.0, 0.0, 0.0])}
    positions = {"a": (100.0, 100.0), "b": (150.0, 100.0)}
    ids = {}
    for _ in range(5):
        names = ["a", "b"]
        tracks = step(tracker, [positions[n] for n in names],
                      features=np.stack([appearance[n] for n in names]) if use_features else None)
        ids = dict(zip(names, tracks.ids.tolist()))
    for _ in range(4):
        step(tracker, [], features=np.zeros((0, 4)) if use_features else None)
    names = ["b", "a"]                                       # b now stands where a stood
    tracks = step(tracker, [positions["a"], positions["b"]],
                  features=np.stack([appearance[n] for n in names]) if use_features else None)
    order = np.argsort(tracks.boxes_xyxy[:, 0])
    return ids, dict(zip(names, tracks.ids[order].tolist()))


def test_appearance_restores_identities_after_an_occlusion():
    before, after = _swap_during_occlusion(use_features=True)
    assert after == before


def test_motion_alone_follows_positions_through_the_same_occlusion():
    before, after = _swap_during_occlusion(use_features=False)
    assert after == {"b": before["a"], "a": before["b"]}


def test_camera_motion_moves_predictions():
    def run(warp):
        tracker = Tracker(config(n_init=1, report_coasting_frames=0))
        first = step(tracker, [(100, 100, 20, 40)]).ids[0]
        return first, step(tracker, [(250, 100, 20, 40)], warp=warp).ids[0]

    shift = np.array([[1.0, 0.0, 150.0], [0.0, 1.0, 0.0]])
    first, second = run(shift)
    assert second == first                                   # the camera panned: same person
    first, second = run(None)
    assert second != first                                   # without the warp it is too far to match


def test_warp_is_applied_to_every_track():
    tracker = Tracker(config(n_init=1, report_coasting_frames=1, output_box="state"))
    step(tracker, [(100, 100), (400, 300)])
    tracks = step(tracker, [], warp=np.array([[1.0, 0.0, 30.0], [0.0, 1.0, -20.0]]))
    centres = (tracks.boxes_xyxy[:, :2] + tracks.boxes_xyxy[:, 2:]) / 2
    assert np.allclose(np.sort(centres[:, 0]), [130.0, 430.0])
    assert np.allclose(np.sort(centres[:, 1]), [80.0, 280.0])


def test_low_score_detections_never_start_tracks_but_continue_them():
    tracker = Tracker(config(n_init=1, high_score=0.6, min_score=0.1, low_score_stage=True,
                             report_coasting_frames=0))
    assert len(tracker.update(np.array([box(100, 100)]), np.array([0.3]))) == 0
    track_id = tracker.update(np.array([box(300, 100)]), np.array([0.9])).ids[0]
    assert tracker.update(np.array([box(302, 100)]), np.array([0.3])).ids.tolist() == [track_id]
    assert len(tracker.update(np.array([box(304, 100)]), np.array([0.05]))) == 0   # below min_score


def test_output_box_detection_or_state():
    det = Tracker(config(n_init=1, output_box="detection"))
    state = Tracker(config(n_init=1, output_box="state"))
    for tracker in (det, state):
        step(tracker, [(100, 100)])
    moved = np.array([box(106, 100)])
    assert np.allclose(det.update(moved, [0.9]).boxes_xyxy, moved)
    filtered = state.update(moved, [0.9]).boxes_xyxy
    assert 100 - 20 < filtered[0, 0] < 106 - 20                # between prediction and measurement


def test_any_feature_dimension_and_unnormalised_features():
    for dim in (3, 128, 1280):
        tracker = Tracker(config(n_init=1))
        rng = np.random.default_rng(dim)
        f = rng.normal(size=(2, dim)) * 7.0
        first = step(tracker, [(100, 100), (300, 100)], features=f)
        again = step(tracker, [(101, 100), (301, 100)], features=f)
        assert again.ids.tolist() == first.ids.tolist()


@pytest.mark.parametrize("boxes, scores, kwargs, message", [
    ([[0, 0, np.nan, 10]], [0.9], {}, "NaN"),
    ([[0, 0, np.inf, 10]], [0.9], {}, "inf"),
    ([[10, 0, 5, 10]], [0.9], {}, "non-positive"),
    ([[0, 0, 10, 0]], [0.9], {}, "non-positive"),
    ([[0, 0, 10, 10]], [0.9, 0.8], {}, "scores"),
    ([[0, 0, 10, 10]], [np.nan], {}, "scores"),
    ([[0, 0, 10]], [0.9], {}, "shape"),
    ([[0, 0, 10, 10]], [0.9], {"features": np.ones((2, 4))}, "features"),
    ([[0, 0, 10, 10]], [0.9], {"features": np.full((1, 4), np.nan)}, "features"),
    ([[0, 0, 10, 10]], [0.9], {"features": np.array([[1.0, np.inf, 0.0]])}, "features"),
    ([[0, 0, 10, 10]], [0.9], {"classes": [0, 1]}, "classes"),
    ([[0, 0, 10, 10]], [0.9], {"classes": [0.5]}, "classes"),
    ([[0, 0, 10, 10]], [0.9], {"warp": np.eye(3)}, "warp"),
])
def test_bad_input_raises_value_error_naming_the_problem(boxes, scores, kwargs, message):
    tracker = Tracker()
    with pytest.raises(ValueError, match=message):
        tracker.update(np.array(boxes, dtype=float), np.array(scores, dtype=float), **kwargs)
    assert len(tracker.store) == 0                          # nothing half-applied


def test_a_feature_dimension_change_is_rejected_before_any_state_changes():
    tracker = Tracker(config(n_init=1))
    first = step(tracker, [(100, 100)], features=np.ones((1, 4)), timestamp=1.0)
    mean = tracker.store.mean.copy()
    with pytest.raises(ValueError, match="dimension 8, earlier frames had 4"):
        step(tracker, [(105, 100)], features=np.ones((1, 8)), timestamp=1.1)
    np.testing.assert_array_equal(tracker.store.mean, mean)     # not even predicted
    assert tracker.store.steps_since.tolist() == [0.0]
    again = step(tracker, [(105, 100)], features=np.ones((1, 4)), timestamp=1.1)   # the clock did not move
    assert again.ids.tolist() == first.ids.tolist()


def test_timestamps_must_increase():
    tracker = Tracker()
    step(tracker, [(100, 100)], timestamp=1.0)
    with pytest.raises(ValueError, match="increase"):
        step(tracker, [(100, 100)], timestamp=1.0)
    step(tracker, [(100, 100)], timestamp=1.1)               # the clock was not disturbed


def test_reset_forgets_tracks_but_not_ids():
    tracker = Tracker(config(n_init=1))
    first = step(tracker, [(100, 100)]).ids[0]
    tracker.reset()
    assert len(tracker.store) == 0
    assert step(tracker, [(100, 100)]).ids[0] > first


def test_tracks_born_without_timestamps_age_in_frames():
    tracker = Tracker(config(n_init=1, max_age=2, max_age_s=100.0))
    step(tracker, [(100, 100)])
    step(tracker, [], timestamp=1.0)
    step(tracker, [], timestamp=2.0)
    assert len(tracker.store) == 1
    step(tracker, [], timestamp=3.0)
    assert len(tracker.store) == 0


def test_measurement_noise_can_differ_from_process_noise():
    tight = Tracker(config(n_init=1, std_weight_measurement=0.01, output_box="state"))
    loose = Tracker(config(n_init=1, std_weight_measurement=0.5, output_box="state"))
    for tracker in (tight, loose):
        step(tracker, [(100, 100)])
    moved = np.array([box(110, 100)])
    tight_x = tight.update(moved, [0.5]).boxes_xyxy[0, 0] + 20
    loose_x = loose.update(moved, [0.5]).boxes_xyxy[0, 0] + 20
    assert 100 < loose_x < tight_x < 110                     # a precise detector pulls the state further


@pytest.mark.parametrize("overrides", [
    {"matching": "cascade"}, {"appearance_update": "gallery", "gallery_budget": 5}, {"motion_cost": "iou"},
    {"state_space": "xywh"}, {"confidence_scaled_noise": False}, {"low_score_stage": False},
])
def test_every_association_option_follows_two_crossing_people(overrides):
    tracker = Tracker(config(n_init=1, report_coasting_frames=0, **overrides))
    looks = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    first = None
    for frame in range(12):
        # Two people walk towards each other along the same line and pass 30 px apart vertically.
        centres = [(100 + 12 * frame, 100), (232 - 12 * frame, 130)]
        tracks = step(tracker, centres, features=looks)
        ids = tracks.ids[np.argsort(tracks.boxes_xyxy[:, 1])].tolist()   # the upper one first
        first = first or ids
        assert ids == first, f"frame {frame}"


# Frame-rate invariance: with timestamps, per-frame settings count reference frames of 1 / kalman_fps s.
def test_coasting_is_reported_for_the_same_time_at_any_camera_rate():
    for rate, reported in ((7.0, 1), (21.0, 3)):
        tracker = Tracker(config(n_init=1, kalman_fps=7.0, report_coasting_frames=1))
        step(tracker, [(100, 100)], timestamp=0.0)
        shown = [len(step(tracker, [], timestamp=(frame + 1) / rate)) for frame in range(6)]
        assert shown == [1] * reported + [0] * (6 - reported), rate


def test_the_appearance_average_forgets_per_reference_frame():
    alpha = 0.9
    old, new = np.eye(2, 8, dtype=np.float32)
    for rate in (7.0, 21.0):
        tracker = Tracker(config(n_init=1, kalman_fps=7.0, ema_alpha=alpha))
        step(tracker, [(100, 100)], features=old[None], timestamp=0.0)
        step(tracker, [(100, 100)], features=new[None], timestamp=1.0 / rate)
        weight = alpha ** (7.0 / rate)
        expected = weight * old + (1 - weight) * new
        assert np.allclose(tracker.appearance.features[0], expected / np.linalg.norm(expected), atol=1e-6)


def test_the_iou_stage_takes_back_tracks_missed_for_the_same_time_at_any_camera_rate():
    looks = np.eye(2, 8, dtype=np.float32)
    for rate in (7.0, 21.0):
        frames_per_reference = int(rate / 7.0)
        for missed_reference_frames, same in ((3, True), (4, False)):
            tracker = Tracker(config(n_init=1, kalman_fps=7.0, iou_stage_max_misses=3, max_age_s=10.0))
            frame = 0
            for frame in range(3):
                step(tracker, [(100, 100)], features=looks[:1], timestamp=frame / rate)
            for _ in range(missed_reference_frames * frames_per_reference):
                frame += 1
                step(tracker, [], timestamp=frame / rate)
            # A different look fails the appearance gate, so only the IoU stage can continue the track.
            tracks = step(tracker, [(100, 100)], features=looks[1:], timestamp=(frame + 1) / rate)
            assert (tracks.ids.tolist() == [1]) == same, (rate, missed_reference_frames)


def test_a_class_seen_for_the_first_time_never_continues_earlier_tracks():
    # Until two classes have been seen the class gate is skipped; the first new class must switch it on.
    tracker = Tracker(config(n_init=1, report_coasting_frames=0))
    first = step(tracker, [(100, 100)]).ids[0]                 # no classes given: class 0
    assert step(tracker, [(100, 100)], classes=np.array([0])).ids.tolist() == [first]
    tracks = step(tracker, [(100, 100)], classes=np.array([7]))
    assert tracks.classes.tolist() == [7] and tracks.ids[0] != first


def test_a_rotating_camera_keeps_identities_with_the_general_kalman_form():
    tracker = Tracker(config(n_init=1, report_coasting_frames=0))
    centres = np.array([[300.0, 200.0], [500.0, 260.0]])
    ids = step(tracker, centres).ids.tolist()
    angle = 0.05
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0.0], [np.sin(angle), np.cos(angle), 0.0]])
    for _ in range(3):
        centres = centres @ rotation[:, :2].T
        assert step(tracker, centres, warp=rotation).ids.tolist() == ids
    assert np.any(tracker.store.covariance[:, 0, 1] != 0.0)     # x and y correlated: blocks broken
    assert not tracker._blockwise
    for _ in range(30):                                         # every track dies ...
        step(tracker, [])
    step(tracker, [(100, 100)])                                 # ... and new ones start blockwise again
    assert tracker._blockwise


# Track life over gaps and long coasting.
def test_a_gap_longer_than_max_age_s_starts_new_tracks():
    tracker = Tracker(config(n_init=1, max_age_s=1.0, report_coasting_frames=0))
    for frame in range(5):
        old = step(tracker, [(100 + 10 * frame, 100)], timestamp=frame * 0.1).ids.tolist()
    # The input pauses for 3 s; the person stands where the old track was last seen, on its predicted path.
    tracks = step(tracker, [(150, 100)], timestamp=3.4)
    assert len(tracker.store) == 1 and tracker.store.hits.tolist() == [1]     # a fresh track ...
    assert tracks.ids.tolist() != old and tracks.ids.tolist() == [old[0] + 1]  # ... with the next id
    # A gap within max_age_s keeps the track.
    step(tracker, [(150, 100)], timestamp=3.5)
    assert step(tracker, [(152, 100)], timestamp=4.3).ids.tolist() == tracks.ids.tolist()


def test_prediction_over_a_gap_is_capped_at_max_age_s():
    tracker = Tracker(config(n_init=1, max_age_s=1.0, kalman_fps=10.0, report_coasting_frames=0))
    for frame in range(5):
        step(tracker, [(100 + 10 * frame, 100)], timestamp=frame * 0.1)
    step(tracker, [], timestamp=0.5)
    tracker.update(np.zeros((0, 4)), np.zeros(0), timestamp=1.39)   # within max_age_s of the last match
    assert tracker.store.steps_since[0] <= 1.0 * 10.0 + 1e-6


@pytest.mark.parametrize("state_space", ["xyah", "xywh"])
def test_no_box_with_non_positive_size_after_1000_coasting_steps(state_space):
    tracker = Tracker(config(n_init=1, state_space=state_space, max_age=100000, max_age_s=0.0,
                             report_coasting_frames=100000, output_box="state"))
    # A box shrinking fast (a person walking away) then lost.
    for frame in range(6):
        size = 100.0 - 12.0 * frame
        tracker.update(np.array([box(300, 200, 0.4 * size, size)]), np.array([0.9]))
    for _ in range(1000):
        tracks = tracker.update(np.zeros((0, 4)), np.zeros(0))
        assert len(tracks) == 1
        sizes = tracks.boxes_xyxy[:, 2:] - tracks.boxes_xyxy[:, :2]
        assert np.all(sizes > 0) and np.all(np.isfinite(tracks.boxes_xyxy))


# Ids.
def test_ids_are_dense_in_order_of_confirmation():
    tracker = Tracker(config(n_init=3, report_coasting_frames=0))
    # Flickering detections start tentative tracks that die unconfirmed; they must not use up ids.
    for frame in range(4):
        step(tracker, [(500 + 200 * frame, 400)])
    # Person A appears first and confirms second: B is seen on three frames in a row before A is.
    seen = {}
    schedule = [["b"], ["a", "b"], ["b"], ["a", "b"], ["a", "b"], ["a", "b"]]
    where = {"a": (100, 100), "b": (300, 100)}
    for names in schedule:
        tracks = step(tracker, [where[n] for n in names])
        for tid, x in zip(tracks.ids.tolist(), tracks.boxes_xyxy[:, 0].tolist()):
            seen.setdefault("a" if x < 200 else "b", tid)
    assert seen == {"b": 1, "a": 2}


def test_tentative_tracks_report_a_negative_placeholder_until_confirmed():
    tracker = Tracker(config(n_init=2, report_tentative=True))
    first = step(tracker, [(100, 100), (300, 100)])
    assert (first.ids < 0).all() and len(set(first.ids.tolist())) == 2
    assert sorted(step(tracker, [(100, 100), (300, 100)]).ids.tolist()) == [1, 2]


def test_ids_continue_after_reset():
    tracker = Tracker(config(n_init=2))
    step(tracker, [(100, 100)])
    assert step(tracker, [(100, 100)]).ids.tolist() == [1]
    tracker.reset()
    step(tracker, [(100, 100)])
    assert step(tracker, [(100, 100)]).ids.tolist() == [2]


def test_motion_alone_never_hands_a_lost_track_to_a_newcomer():
    # A walks right and is lost; B appears 90 px from where A was last seen, without overlap. Only appearance
    # could say B is A; on motion alone B must get its own track and id (the moving-camera sequences showed
    # lost tracks hopping to newcomers while the newcomers' tentative tracks starved).
    tracker = Tracker(config(n_init=2, report_coasting_frames=0))
    for frame in range(8):
        a_id = step(tracker, [(100 + 5 * frame, 200)], timestamp=frame / 7).ids.tolist()
    for frame in range(8, 14):
        step(tracker, [], timestamp=frame / 7)
    ids = [step(tracker, [(225, 200 - 2 * k)], timestamp=(14 + k) / 7).ids.tolist() for k in range(4)]
    assert ids[0] == [] and ids[1:] == [[a_id[0] + 1]] * 3


# Each association option on a scene where it must behave differently from its alternative.
def _unit(angle):
    return np.array([[np.cos(angle), np.sin(angle), 0.0]])


@pytest.mark.parametrize("matching, winner", [("global", "lost"), ("cascade", "recent")])
def test_the_cascade_lets_recently_seen_tracks_choose_first(matching, winner):
    # A (seen every frame) and B (lost for 3 frames) both gate a detection that looks more like B: the global
    # assignment gives it to the cheaper pair (B), the cascade to the track seen more recently (A).
    tracker = Tracker(config(n_init=1, matching=matching, max_cosine_distance=0.3, appearance_weight=0.9,
                             report_coasting_frames=5, iou_stage_max_misses=0))
    looks = {"recent": _unit(0.0), "lost": _unit(0.6)}
    tracks = step(tracker, [(100, 100), (160, 100)], features=np.concatenate([looks["recent"], looks["lost"]]))
    ids = dict(zip(("recent", "lost"), tracks.ids.tolist()))
    for _ in range(3):
        step(tracker, [(100, 100)], features=looks["recent"])
    tracks = step(tracker, [(128, 100)], features=_unit(0.42))
    matched = tracks.ids[tracks.states == TrackState.CONFIRMED].tolist()
    assert matched == [ids[winner]]


@pytest.mark.parametrize("mode, same", [("ema", False), ("gallery", True)])
def test_the_gallery_remembers_an_earlier_look_the_average_forgot(mode, same):
    # A person shows look X, then look Y for a while (a jacket taken off), is lost for two frames and comes
    # back showing X: the gallery still holds X, the moving average has become Y.
    tracker = Tracker(config(n_init=1, appearance_update=mode, gallery_budget=50, ema_alpha=0.5,
                             max_cosine_distance=0.2, iou_stage_max_misses=0, report_coasting_frames=0))
    x, y = np.eye(2, 4)[:1], np.eye(2, 4)[1:]
    first = step(tracker, [(100, 100)], features=x).ids.tolist()
    for look in [x] * 4 + [y] * 8:
        step(tracker, [(100, 100)], features=look)
    for _ in range(2):
        step(tracker, [], features=np.zeros((0, 4)))
    again = step(tracker, [(100, 100)], features=x).ids.tolist()
    assert (again == first) == same


@pytest.mark.parametrize("state_space, same", [("xyah", False), ("xywh", True)])
def test_xywh_lets_a_wide_box_change_its_width_where_xyah_holds_the_aspect_ratio(state_space, same):
    # A car (300 x 100 px) turns and its box widens by 20 % in one frame. xyah models the aspect ratio with
    # a fixed small noise, so an aspect change of 0.6 fails the gate; xywh scales the width's noise with the
    # width. (A strict IoU stage keeps it from rescuing the pair.)
    tracker = Tracker(config(n_init=1, state_space=state_space, max_iou_distance=0.1, report_coasting_frames=0))
    look = np.eye(1, 4)
    for _ in range(4):
        first = step(tracker, [(500, 200, 300, 100)], features=look).ids.tolist()
    again = step(tracker, [(500, 200, 360, 100)], features=look).ids.tolist()
    assert (again == first) == same


@pytest.mark.parametrize("motion_cost, follows", [("mahalanobis", "shifted"), ("iou", "grown")])
def test_motion_cost_picks_between_a_shifted_and_a_grown_box(motion_cost, follows):
    # On motion alone one track meets two detections: the same box shifted 15 px and a box 30 % taller at
    # the same centre. Overlap prefers the grown one; the Mahalanobis distance, whose size noise is as wide
    # as its position noise, prefers the shifted one.
    tracker = Tracker(config(n_init=1, motion_cost=motion_cost, report_coasting_frames=0))
    for _ in range(3):
        track_id = step(tracker, [(100, 100)]).ids.tolist()
    candidates = {"shifted": box(115, 100), "grown": box(100, 100, 52, 130)}
    tracks = tracker.update(np.array([candidates["shifted"], candidates["grown"]]), np.array([0.9, 0.9]))
    kept = tracks.boxes_xyxy[tracks.ids == track_id[0]][0]
    other = "grown" if follows == "shifted" else "shifted"
    assert np.abs(kept - candidates[follows]).sum() < np.abs(kept - candidates[other]).sum()


@pytest.mark.parametrize("scaled", [True, False])
def test_confidence_scaled_noise_trusts_confident_detections_more(scaled):
    moved = {}
    for score in (0.55, 0.95):
        tracker = Tracker(config(n_init=1, confidence_scaled_noise=scaled, output_box="state", high_score=0.5))
        for _ in range(3):
            tracker.update(np.array([box(100, 100)]), np.array([score]))
        moved[score] = tracker.update(np.array([box(110, 100)]), np.array([score])).boxes_xyxy[0, 0] + 20 - 100
    if scaled:
        assert moved[0.95] > moved[0.55] + 1.0
    else:
        assert moved[0.95] == pytest.approx(moved[0.55])
