"""The weight-free path (motion detector + histogram appearance) runs with the motion detector's tracker preset.

The preset (``perception.DETECTOR_TRACKER_SETTINGS["motion"]``) lives in one place; the pipeline applies it
over the histogram embedder's preset to unset tracker settings, the node declares it as its tracker.*
defaults, and PETS09-S2L1 shows it pays.
"""
import cv2
import numpy as np
import rclpy
from rclpy.parameter import Parameter

from deepsort_ros.core import TrackerConfig
from deepsort_ros.perception import DETECTOR_TRACKER_SETTINGS, EMBEDDER_TRACKER_SETTINGS
from deepsort_ros.pipeline import Pipeline
from deepsort_ros.ros.node import TrackerNode
from deepsort_ros.ros.pipeline_config import all_parameter_specs, pipeline_config
from deepsort_ros.tools.mot import evaluate, read_mot_rows, write_results

WEIGHT_FREE = {"detector": {"backend": "motion"}, "reid": {"backend": "histogram"}}
MOTION_PRESET = DETECTOR_TRACKER_SETTINGS["motion"]
HISTOGRAM_PRESET = EMBEDDER_TRACKER_SETTINGS["histogram"]
MOTION_ONLY_PRESET = EMBEDDER_TRACKER_SETTINGS["none"]


def test_motion_preset_changes_defaults_and_fills_only_unset_settings():
    # Every entry changes what the motion detector would get without it: the TrackerConfig default, or the
    # histogram embedder's preset it is applied over.
    assert MOTION_PRESET and all(getattr(TrackerConfig(), name) != value or HISTOGRAM_PRESET.get(name, value) != value
                                 for name, value in MOTION_PRESET.items())
    assert Pipeline.from_config(WEIGHT_FREE).tracker.config == TrackerConfig.from_dict(
        {**HISTOGRAM_PRESET, **MOTION_PRESET})
    without_appearance = {"detector": {"backend": "motion"}, "reid": {"backend": "none"}}
    assert Pipeline.from_config(without_appearance).tracker.config == TrackerConfig.from_dict(
        {**MOTION_ONLY_PRESET, **MOTION_PRESET})
    chosen = Pipeline.from_config({**WEIGHT_FREE, "tracker": {"n_init": 5, "max_age": 7}}).tracker.config
    assert (chosen.n_init, chosen.max_age, chosen.high_score) == (5, 7, MOTION_PRESET["high_score"])
    external = Pipeline.from_config({"detector": {"backend": "external"}}).tracker.config
    assert external == TrackerConfig()


NODE_DEFAULT_PRESET = {**HISTOGRAM_PRESET, **MOTION_PRESET}  # motion detector, histogram appearance


def test_node_parameter_defaults_follow_the_detector_and_reid_backends():
    for detector, reid, expected in (("motion", "histogram", TrackerConfig.from_dict(NODE_DEFAULT_PRESET)),
                                     ("motion", "none",
                                      TrackerConfig.from_dict({**MOTION_ONLY_PRESET, **MOTION_PRESET})),
                                     ("external", "histogram", TrackerConfig.from_dict(dict(HISTOGRAM_PRESET))),
                                     ("external", "none", TrackerConfig.from_dict(dict(MOTION_ONLY_PRESET)))):
        defaults = {spec.name: spec.default for spec in all_parameter_specs(detector, reid)}
        config = pipeline_config({**defaults, "detector.backend": detector, "reid.backend": reid})
        assert TrackerConfig.from_dict(config["tracker"]) == expected
        assert Pipeline.from_config(config).tracker.config == expected
    # The documented (generated) defaults stay TrackerConfig's, each naming the preset value beside it.
    documented = {spec.name: spec for spec in all_parameter_specs()}
    for name, value in MOTION_PRESET.items():
        spec = documented[f"tracker.{name}"]
        assert spec.default == getattr(TrackerConfig(), name)
        assert f"detector.backend motion: {value}" in spec.param.description


def test_running_node_declares_and_uses_the_preset():
    context = rclpy.Context()
    rclpy.init(context=context)
    nodes = []
    try:
        external = Parameter("detector.backend", value="external")
        for overrides, expected in (([], TrackerConfig.from_dict(NODE_DEFAULT_PRESET)),
                                    ([Parameter("tracker.n_init", value=6)],
                                     TrackerConfig.from_dict({**NODE_DEFAULT_PRESET, "n_init": 6})),
                                    ([external], TrackerConfig.from_dict(dict(HISTOGRAM_PRESET))),
                                    ([external, Parameter("reid.backend", value="none")],
                                     TrackerConfig.from_dict(dict(MOTION_ONLY_PRESET)))):
            node = TrackerNode(context=context, parameter_overrides=overrides)
            nodes.append(node)
            assert node.pipeline.tracker.config == expected
            assert node.get_parameter("tracker.high_score").value == expected.high_score
            assert node.get_parameter("tracker.n_init").value == expected.n_init
    finally:
        for node in nodes:
            node.stop()
            node.destroy_node()
        rclpy.shutdown(context=context)


def test_weight_free_pipeline_tracks_pets09(vtest_avi, mot_data, tmp_path):
    # PETS09-S2L1 is the tuning sequence: with the TrackerConfig defaults this scores HOTA 26.6, MOTA 26.5,
    # IDF1 38.7; with the presets and the detector's defaults HOTA 53.6, MOTA 60.6, IDF1 75.3, 27 id switches.
    pipeline = Pipeline.from_config(WEIGHT_FREE)
    capture = cv2.VideoCapture(str(vtest_avi))
    frames, ids, boxes = [], [], []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        tracks = pipeline.process(bgr, timestamp=len(frames) / 10.0).tracks
        frames.append(np.full(len(tracks), len(frames) + 1))
        ids.append(tracks.ids)
        boxes.append(tracks.boxes_xyxy)
    capture.release()
    assert len(frames) == 795
    results = tmp_path / "results.txt"
    frames = np.concatenate(frames)
    write_results(results, frames, np.concatenate(ids), np.concatenate(boxes), np.ones(len(frames)))
    metrics = evaluate(read_mot_rows(mot_data / "PETS09-S2L1" / "gt" / "gt.txt"), read_mot_rows(results), 795)
    assert metrics["HOTA"] > 50.0 and metrics["MOTA"] > 57.0 and metrics["IDF1"] > 70.0, metrics
    assert metrics["IDSW"] < 35, metrics
