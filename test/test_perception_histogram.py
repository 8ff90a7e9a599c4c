"""Striped HSV histogram embedder."""
import numpy as np
import pytest

from deepsort_ros.perception.histogram_embedder import HistogramEmbedder
from deepsort_ros.tools.synthetic_scene import SyntheticScene


def test_shapes_and_normalisation():
    embedder = HistogramEmbedder(stripes=4, hue_bins=6, saturation_bins=2, value_bins=5)
    bgr = SyntheticScene(people=3, seed=2).frame(0)[0]
    boxes = np.array([[10, 20, 50, 120], [100, 100, 140, 200], [-30, -30, 20, 40], [600, 400, 700, 560]])
    features = embedder.embed(bgr, boxes)
    assert embedder.dim == 4 * (6 * 2 + 5)
    assert features.shape == (4, embedder.dim) and features.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-6)
    assert embedder.embed(bgr, np.zeros((0, 4))).shape == (0, embedder.dim)


def test_batched_equals_one_by_one():
    embedder = HistogramEmbedder()
    bgr, boxes, _ = SyntheticScene(people=5, seed=3).frame(7)
    together = embedder.embed(bgr, boxes)
    alone = np.concatenate([embedder.embed(bgr, boxes[i:i + 1]) for i in range(len(boxes))])
    np.testing.assert_allclose(together, alone, atol=1e-6)


def test_separates_differently_dressed_people():
    # Person 0 and 1 of the scene wear different shirts and trousers; each is seen in two frames, at
    # different places over a different background patch, and with slightly loose boxes.
    scene = SyntheticScene(people=2, seed=4)
    embedder = HistogramEmbedder()
    (frame_a, boxes_a, _), (frame_b, boxes_b, _) = scene.frame(3), scene.frame(60)
    loose = boxes_b + np.array([-3, -4, 3, 2])
    first, second = embedder.embed(frame_a, boxes_a), embedder.embed(frame_b, loose)
    same = np.sum(first * second, axis=1)
    different = np.array([first[0] @ second[1], first[1] @ second[0]])
    assert same.min() > 0.85
    assert different.max() < 0.5
    assert same.min() - different.max() > 0.4


def test_stripes_tell_swapped_outfits_apart():
    # Same two colours, shirt and trousers swapped: a global histogram cannot tell them apart.
    bgr = np.full((200, 200, 3), 128, np.uint8)
    bgr[20:60, 20:60], bgr[60:100, 20:60] = (0, 0, 220), (220, 0, 0)
    bgr[20:60, 120:160], bgr[60:100, 120:160] = (220, 0, 0), (0, 0, 220)
    boxes = np.array([[20, 20, 60, 100], [120, 20, 160, 100]])
    striped = HistogramEmbedder(stripes=4, margin=0.0).embed(bgr, boxes)
    single = HistogramEmbedder(stripes=1, margin=0.0).embed(bgr, boxes)
    assert single[0] @ single[1] > 0.99
    assert striped[0] @ striped[1] < 0.1


def test_rejects_bad_input():
    embedder = HistogramEmbedder()
    with pytest.raises(ValueError, match="BGR uint8"):
        embedder.embed(np.zeros((10, 10), np.uint8), np.zeros((0, 4)))
    with pytest.raises(ValueError, match="NaN"):
        embedder.embed(np.zeros((10, 10, 3), np.uint8), np.array([[0.0, 0.0, np.nan, 8.0]]))
    with pytest.raises(ValueError, match="samples_height"):
        HistogramEmbedder(stripes=8, samples_height=4)
