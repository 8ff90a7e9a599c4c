"""Annotated frames: boxes, labels and trails drawn on a copy, trails forgotten when tracks go."""
import numpy as np
import pytest

from deepsort_ros.annotate import Annotator, track_colour


def test_draws_boxes_labels_and_trails_on_a_copy():
    image = np.zeros((120, 160, 3), np.uint8)
    annotator = Annotator(trail_length=5)
    for step in range(4):
        boxes = np.array([[10.0 + 10 * step, 40, 30 + 10 * step, 100]])
        out = annotator.draw(image, np.array([7]), boxes, ["person"])
    assert image.sum() == 0, "input modified"
    colour = np.array(track_colour(7))
    # Left edge of the last box (x = 40..60) in the track's colour; the trail joins the earlier box bottoms
    # (centres x = 20, 30, 40 at y = 100), left of the last box.
    assert (out[60, 40] == colour).all()
    assert out[100, 21:39].any(axis=1).mean() > 0.8  # anti-aliased, so only "drawn"
    assert not out[70, 21:39].any(), "earlier boxes must not be drawn"
    assert out[5:40].any(), "label missing above the box"


def test_trails_are_bounded_and_forgotten():
    annotator = Annotator(trail_length=3, forget_after=2)
    for step in range(10):
        annotator.update_trails(np.array([1, 2]), np.array([[step, 0, step + 1, 1], [0, 0, 1, 1]], float))
    assert len(annotator._trails[1]) == 3
    annotator.update_trails(np.array([1]), np.array([[0, 0, 1, 1]], float))
    annotator.update_trails(np.array([1]), np.array([[0, 0, 1, 1]], float))
    assert set(annotator._trails) == {1}


def test_bad_input_raises():
    annotator = Annotator()
    with pytest.raises(ValueError):
        annotator.draw(np.zeros((4, 4), np.uint8), np.array([1]), np.zeros((1, 4)))
    with pytest.raises(ValueError):
        annotator.draw(np.zeros((4, 4, 3), np.uint8), np.array([1, 2]), np.zeros((1, 4)))
    with pytest.raises(ValueError):
        Annotator(trail_length=-1)
    assert track_colour(3) != track_colour(4)


def test_coasting_tracks_are_drawn_dashed_with_a_question_mark():
    image = np.zeros((120, 200, 3), np.uint8)
    boxes = np.array([[10.0, 40, 60, 100], [110, 40, 160, 100]])
    out = Annotator(trail_length=0).draw(image, np.array([1, 2]), boxes, ["", ""], predicted=np.array([False, True]))
    measured, predicted = out[100, 10:61].any(axis=1).mean(), out[100, 110:161].any(axis=1).mean()
    assert measured == 1.0  # solid bottom edge
    assert 0.3 < predicted < 0.8  # dashed bottom edge
    labels = Annotator(trail_length=0)
    solid_label = labels.draw(image, np.array([2]), boxes[1:], [""])
    coasting_label = labels.draw(image, np.array([2]), boxes[1:], [""], predicted=np.array([True]))
    # "2?" is wider than "2": the label box grows.
    assert coasting_label[:40].any(axis=2).sum() > solid_label[:40].any(axis=2).sum()
    with pytest.raises(ValueError, match="coasting flags"):
        Annotator().draw(image, np.array([1]), boxes[:1], predicted=np.array([True, False]))
