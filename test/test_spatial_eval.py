"""PETS09-S2L1's Tsai calibration converted to the node's camera model, and deepsort-eval --calibration."""
import json

import numpy as np

from deepsort_ros.core.camera_geometry import CameraPose, ground_points
from deepsort_ros.tools import calibration, eval as eval_cli


def test_tsai_calibration_converts_to_plumb_bob_and_a_pose(mot_data, capsys):
    path = mot_data / "PETS09-S2L1" / "calibration" / "View_001.xml"
    tsai = calibration.read_tsai(path)
    camera, pose, fit_error = calibration.camera_from_tsai(tsai)
    assert fit_error < 0.01
    assert np.allclose(pose.position, [-28.9, -19.5, 7.1], atol=0.1)   # SOURCE.txt's camera centre
    gt = np.loadtxt(mot_data / "PETS09-S2L1" / "gt" / "gt.txt", delimiter=",")
    gt = gt[gt[:, 6] == 1]
    world = np.column_stack([gt[:, 7:9], np.zeros(len(gt))])
    # The fitted model projects like Tsai's own.
    assert np.abs(camera.project(pose.to_optical(world)) - tsai.project(world)).max() < 0.01
    # gt positions were made from the boxes with this calibration: bottom centres minus MOT's 1-based
    # (plus half-pixel) offset back-project onto them (SOURCE.txt: 0.018 m median).
    feet = np.column_stack([gt[:, 2] + gt[:, 4] / 2, gt[:, 3] + gt[:, 5]]) - 1.5
    points, valid = ground_points(camera, pose, feet)
    errors = np.hypot(*(points[:, :2] - world[:, :2]).T)
    assert valid.all() and np.median(errors) < 0.03 and np.percentile(errors, 90) < 0.06
    # The printed parameters rebuild the same pose.
    assert calibration.main([str(path)]) == 0
    lines = dict(line.strip().split(": ") for line in capsys.readouterr().out.splitlines() if "spatial." in line)
    rebuilt = CameraPose.from_body_rpy(*(float(lines[f"spatial.camera_{k}"]) for k in
                                         ("x", "y", "z", "roll", "pitch", "yaw")))
    assert np.abs(rebuilt.rotation - pose.rotation).max() < 1e-5


def test_eval_writes_world_positions_and_velocities(mot_data, tmp_path, capsys):
    seq = mot_data / "PETS09-S2L1"
    code = eval_cli.main([str(seq), "--features", str(seq / "det" / "features_mobilenetv2_imagenet.npy"),
                          "--calibration", str(seq / "calibration" / "View_001.xml"), "--out", str(tmp_path),
                          "--no-progress"])
    assert code == 0
    spatial = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["sequences"]["PETS09-S2L1"]["spatial"]
    position, velocity = spatial["position_error_m"], spatial["velocity_error_mps"]
    # Plain projection of the tracker's boxes gives 0.30 / 0.76 m; the metric filter must beat it.
    assert position["median"] < 0.27 and position["p90"] < 0.7 and position["count"] > 3000
    assert velocity["median"] < 0.3
    results = np.loadtxt(tmp_path / "results.txt", delimiter=",")
    assert results.shape[1] == 10 and (results[:, 9] == 0).mean() > 0.95   # z on the ground
    assert np.abs(results[results[:, 7] != -1, 7:9]).max() < 60
    velocities = np.loadtxt(tmp_path / "velocities.txt", delimiter=",")
    assert velocities.shape[1] == 5 and np.median(np.hypot(velocities[:, 2], velocities[:, 3])) < 2.5
    assert json.loads((tmp_path / "metrics.json").read_text())["spatial"]["position_error_m"] == position


def test_spatial_plot_draws_the_picture(mot_data, vtest_avi, tmp_path):
    from deepsort_ros.tools import spatial_plot

    seq = mot_data / "PETS09-S2L1"
    out = tmp_path / "spatial.png"
    assert spatial_plot.main([str(seq), "--features", str(seq / "det" / "features_mobilenetv2_imagenet.npy"),
                              "--calibration", str(seq / "calibration" / "View_001.xml"), "--frames", str(vtest_avi),
                              "--frame", "20", "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG" and out.stat().st_size > 10_000
