"""Assignment helpers: IoU, gated optimal matching, the matching cascade, appearance distances."""
import numpy as np

from deepsort_ros.core.linear_assignment import iou_matrix, matching_cascade, min_cost_matching
from deepsort_ros.core.nn_matching import AppearanceMemory, normalise_rows


def test_iou_matrix_values():
    a = np.array([[0.0, 0.0, 10.0, 10.0]])
    b = np.array([[0.0, 0.0, 10.0, 10.0], [5.0, 0.0, 15.0, 10.0], [20.0, 20.0, 30.0, 30.0]])
    assert np.allclose(iou_matrix(a, b), [[1.0, 50.0 / 150.0, 0.0]])
    assert iou_matrix(a, np.zeros((0, 4))).shape == (1, 0)


def test_min_cost_matching_finds_the_optimum_not_the_greedy_pair():
    cost = np.array([[0.1, 0.2], [0.15, 0.9]])              # greedy takes (0,0) and pays 1.0 in total
    rows, cols = min_cost_matching(cost, 1.0)
    assert sorted(zip(rows.tolist(), cols.tolist())) == [(0, 1), (1, 0)]


def test_min_cost_matching_edge_cases():
    for cost in (np.zeros((0, 3)), np.zeros((3, 0)), np.zeros((0, 0))):
        rows, cols = min_cost_matching(cost, 1.0)
        assert len(rows) == len(cols) == 0
    everything_gated = np.full((2, 3), np.inf)
    assert len(min_cost_matching(everything_gated, 1.0)[0]) == 0
    above_threshold = np.full((2, 2), 0.8)
    assert len(min_cost_matching(above_threshold, 0.5)[0]) == 0


def test_min_cost_matching_never_returns_a_gated_pair():
    cost = np.array([[0.1, np.inf], [np.inf, np.inf]])
    rows, cols = min_cost_matching(cost, 1.0)
    assert rows.tolist() == [0] and cols.tolist() == [0]


def test_cascade_lets_recent_tracks_choose_first():
    cost = np.array([[0.5], [0.1]])                          # track 1 is cheaper but older
    ages = np.array([0, 3])
    rows, cols = matching_cascade(cost, 1.0, ages)
    assert rows.tolist() == [0] and cols.tolist() == [0]
    rows, _ = min_cost_matching(cost, 1.0)
    assert rows.tolist() == [1]


def test_cascade_leaves_gated_tracks_unmatched():
    cost = np.array([[np.inf, 0.2], [0.3, np.inf]])
    rows, cols = matching_cascade(cost, 1.0, np.array([1, 0]))
    assert sorted(zip(rows.tolist(), cols.tolist())) == [(0, 1), (1, 0)]
    assert len(matching_cascade(np.full((2, 2), np.inf), 1.0, np.array([0, 0]))[0]) == 0


def test_ema_memory_distance_and_update():
    memory = AppearanceMemory("ema", ema_alpha=0.5)
    memory.append(normalise_rows(np.array([[1.0, 0.0], [0.0, 1.0]])), 2)
    detections = normalise_rows(np.array([[1.0, 0.0], [1.0, 1.0]]))
    distance = memory.distance(np.array([0, 1]), detections)
    assert np.allclose(distance, [[0.0, 1 - np.sqrt(0.5)], [1.0, 1 - np.sqrt(0.5)]])
    memory.update(np.array([0]), normalise_rows(np.array([[0.0, 1.0]])))
    assert np.allclose(memory.features[0], [np.sqrt(0.5), np.sqrt(0.5)])


def test_gallery_memory_takes_the_nearest_stored_feature_within_budget():
    memory = AppearanceMemory("gallery", budget=2)
    memory.append(normalise_rows(np.array([[1.0, 0.0, 0.0]])), 1)
    memory.update(np.array([0]), normalise_rows(np.array([[0.0, 1.0, 0.0]])))
    probe = normalise_rows(np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))
    assert np.allclose(memory.distance(np.array([0]), probe), [[0.0, 0.0]])
    memory.update(np.array([0]), normalise_rows(np.array([[0.0, 0.0, 1.0]])))   # evicts the oldest
    assert np.allclose(memory.distance(np.array([0]), probe), [[0.0, 1.0]])


def test_memory_without_features_is_uninformative_and_rejects_a_new_dimension():
    memory = AppearanceMemory("ema")
    memory.append(None, 2)
    assert np.allclose(memory.distance(np.array([0, 1]), normalise_rows(np.ones((3, 4)))), 1.0)
    memory.update(np.array([0]), normalise_rows(np.ones((1, 4))))
    try:
        memory.update(np.array([1]), normalise_rows(np.ones((1, 5))))
    except ValueError as error:
        assert "dimension" in str(error)
    else:
        raise AssertionError("a feature of another dimension was accepted")


def test_gallery_memory_grows_with_the_features_stored_and_follows_deletions():
    memory = AppearanceMemory("gallery", budget=3)
    rng = np.random.default_rng(0)
    memory.append(None, 50)                                    # 50 tracks, nothing stored yet
    assert memory.stored == 0 and memory.features.nbytes == 0
    first = normalise_rows(rng.normal(size=(2, 64)))
    memory.update(np.array([4, 7]), first)
    assert memory.stored == 2 and memory.features.shape == (2, 64)
    for _ in range(5):                                         # track 4 sees 5 more, keeps its newest 3
        memory.update(np.array([4]), normalise_rows(rng.normal(size=(1, 64))))
    assert memory.stored == 4 and memory.counts[4] == 3
    keep = np.ones(50, dtype=bool)
    keep[[0, 4]] = False                                       # track 7 becomes row 5
    memory.keep(keep)
    assert len(memory) == 48 and memory.stored == 1
    assert np.allclose(memory.distance(np.array([5, 0]), first[1:]), [[0.0], [1.0]], atol=1e-6)
