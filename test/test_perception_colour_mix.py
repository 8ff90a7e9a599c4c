"""Colour mixed into a network's features: cosine distances blend by the colour weight, and the factory mixes
colour into the torch and onnx backends unless colour_weight is 0."""
import json
from pathlib import Path

import numpy as np
import pytest

from deepsort_ros.perception import EMBEDDER_PARAMS, build_embedder
from deepsort_ros.perception.colour_mix import ColourMixedEmbedder, mix

RNG = np.random.default_rng(3)


def _cosine(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize("weight", [0.0, 0.15, 0.5, 0.9])
def test_mixed_cosine_is_the_weighted_blend_of_both_cosines(weight):
    network, colour = RNG.normal(size=(2, 40)) * [[1.0], [7.0]], RNG.random((2, 12)) * [[0.2], [3.0]]
    mixed = mix(network, colour, weight)
    assert mixed.dtype == np.float32 and mixed.shape == (2, 52)
    np.testing.assert_allclose(np.linalg.norm(mixed, axis=1), 1.0, rtol=1e-6)
    expected = (1 - weight) * _cosine(*network) + weight * _cosine(*colour)
    assert _cosine(*mixed) == pytest.approx(expected, abs=1e-6)
    assert mix(np.zeros((0, 40)), np.zeros((0, 12)), weight).shape == (0, 52)


class SameFeatures:
    """A network that cannot tell any two boxes apart."""

    device, description = "cpu", "same features"

    def embed(self, bgr, boxes_xyxy):
        return np.ones((len(boxes_xyxy), 8), np.float32)


def test_colour_separates_people_the_network_confuses():
    bgr = np.full((200, 200, 3), 90, np.uint8)
    bgr[20:180, 20:80] = (0, 0, 220)       # a person in red
    bgr[20:180, 120:180] = (220, 60, 0)    # a person in blue
    boxes = np.array([[20.0, 20.0, 80.0, 180.0], [120.0, 20.0, 180.0, 180.0], [20.0, 20.0, 80.0, 180.0]])
    embedder = ColourMixedEmbedder(SameFeatures(), 0.15)
    features = embedder.embed(bgr, boxes)
    distance = 1.0 - features @ features.T
    assert distance[0, 2] == pytest.approx(0.0, abs=1e-6)
    # Orthogonal colours: the whole colour share of the distance.
    assert distance[0, 1] == pytest.approx(0.15, abs=0.01)
    assert embedder.device == "cpu" and embedder.description == "same features + 0.15 colour"
    for weight in (0.0, 0.95):
        with pytest.raises(ValueError, match="colour_weight"):
            ColourMixedEmbedder(SameFeatures(), weight)


def test_the_networks_backends_mix_colour_unless_its_weight_is_0():
    pytest.importorskip("torch")
    assert {p.name for p in EMBEDDER_PARAMS["torch"]} >= {"colour_weight"}
    config = {"backend": "torch", "model": "osnet_x0_25", "random_init": True, "device": "cpu",
              "input_height": 64, "input_width": 32}
    mixed = build_embedder(config)
    assert isinstance(mixed, ColourMixedEmbedder) and mixed.colour_weight == 0.15
    bgr = RNG.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    boxes = np.array([[10.0, 10.0, 50.0, 100.0], [80.0, 5.0, 120.0, 110.0]])
    np.testing.assert_allclose(mixed.embed(bgr, boxes), mix(mixed.network.embed(bgr, boxes),
                                                            mixed.colour.embed(bgr, boxes), 0.15), atol=1e-5)
    plain = build_embedder({**config, "colour_weight": 0.0})
    assert not isinstance(plain, ColourMixedEmbedder) and plain.embed(bgr, boxes).shape == (2, 512)
    with pytest.raises(ValueError, match=r"colour_weight=0.95"):
        build_embedder({**config, "colour_weight": 0.95})


def _eval(capsys, *argv):
    from deepsort_ros.tools import eval as deepsort_eval

    code = deepsort_eval.main([str(a) for a in argv] + ["--no-progress"])
    captured = capsys.readouterr()
    return code, captured.out.strip().splitlines(), captured.err


def test_deepsort_eval_mixes_colour_of_the_frames_into_features_files(tmp_path, capsys):
    import cv2

    from deepsort_ros.perception.colour_mix import TRACKER_SETTINGS
    from deepsort_ros.perception.histogram_embedder import HistogramEmbedder
    from deepsort_ros.tools import eval as deepsort_eval
    from test_histogram_tracker_preset import write_sequence_with_frames

    seq = write_sequence_with_frames(tmp_path / "seq")
    (seq / "det" / "features.npy").rename(seq / "det" / "features_test.npy")  # shipped beside det.txt
    features = np.load(seq / "det" / "features_test.npy")
    # Each det.txt row gets the colour of its own box in its own frame.
    mixed = deepsort_eval.mix_colour(seq, features, seq / "img1", 0.15)
    detections = np.loadtxt(seq / "det" / "det.txt", delimiter=",")
    for row in (0, 7, len(detections) - 1):
        frame, box = int(detections[row, 0]), detections[row, 2:6] + [0, 0, *detections[row, 2:4]]
        colour = HistogramEmbedder().embed(cv2.imread(str(seq / "img1" / f"{frame:06d}.png")), box[None])
        np.testing.assert_allclose(mixed[row], mix(features[row:row + 1], colour, 0.15)[0], atol=1e-6)

    code, lines, _ = _eval(capsys, seq, "--colour-weight", 0.15, "--out", tmp_path / "out")
    assert code == 0 and lines[-3].rstrip().endswith("features_test.npy + 0.15 colour")
    recorded = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert recorded["tracker_config"]["ema_alpha"] == TRACKER_SETTINGS["ema_alpha"]
    assert recorded["IDSW"] == 0 and recorded["HOTA"] > 80.0

    # With several sequences, --frames names the sequence it belongs to.
    other = write_sequence_with_frames(tmp_path / "other")
    (other / "det" / "features.npy").rename(other / "det" / "features_test.npy")
    (other / "seqinfo.ini").write_text((other / "seqinfo.ini").read_text().replace("name=synthetic", "name=B"))
    (other / "img1").rename(tmp_path / "b_frames")
    code, _, err = _eval(capsys, seq, other, "--colour-weight", 0.15)
    assert code == 2 and "--frames B=" in err
    code, lines, _ = _eval(capsys, seq, other, "--colour-weight", 0.15, "--frames", f"B={tmp_path / 'b_frames'}")
    assert code == 0 and set(json.loads(lines[-1])["sequences"]) == {"synthetic", "B"}
    code, _, err = _eval(capsys, seq, other, "--colour-weight", 0.15, "--frames", tmp_path / "b_frames")
    assert code == 2 and "NAME=VIDEO_OR_IMAGE_DIR" in err
    assert deepsort_eval.named_frames("B=/data/b.mp4") == ("B", Path("/data/b.mp4"))
    assert deepsort_eval.named_frames("/data/x=1/b.mp4") == (None, Path("/data/x=1/b.mp4"))
    code, _, err = _eval(capsys, seq, "--colour-weight", 0.95)
    assert code == 2 and "must be in [0, 0.9]" in err
    code, _, err = _eval(capsys, seq, "--colour-weight", 0.2, "--appearance", "histogram")
    assert code == 2 and "not into --appearance histogram" in err


def test_pets09_with_colour_mixed_into_the_shared_features_stays_above_50(mot_data, vtest_avi, capsys):
    # Chosen on the six tuning sequences: 15% colour gives PETS09-S2L1 HOTA 50.8 (50.3 without).
    seq = mot_data / "PETS09-S2L1"
    code, lines, _ = _eval(capsys, seq, "--colour-weight", 0.15, "--frames", vtest_avi)
    (summary,) = json.loads(lines[-1])["sequences"].values()
    assert code == 0 and summary["HOTA"] >= 50.0 and summary["IDF1"] >= 74.0, summary
