"""deepsort-track on small synthetic recordings: a video, an image folder and ROS 2 bags."""
import cv2
import numpy as np
import pytest
from rosbags.rosbag2 import Reader, StoragePlugin, Writer

from deepsort_ros.core.linear_assignment import iou_matrix
from deepsort_ros.sources import bag_typestore
from deepsort_ros.tools import track
from deepsort_ros.tools.mot import read_mot_rows

HEIGHT, WIDTH, FRAMES = 240, 320, 40
BOX_W, BOX_H = 24, 64


def ground_truth(frame):
    """(2, 4) boxes of two 'people' crossing the image in separate lanes, in opposite directions."""
    left_a = 20 + 5 * frame
    left_b = WIDTH - 20 - BOX_W - 5 * frame
    return np.array([[left_a, 30, left_a + BOX_W, 30 + BOX_H],
                     [left_b, 140, left_b + BOX_W, 140 + BOX_H]], dtype=np.float64)


def synthetic_clip():
    """Frames of a textured static background with two textured blobs moving over it."""
    rng = np.random.default_rng(11)
    background = cv2.GaussianBlur(rng.integers(40, 90, size=(HEIGHT, WIDTH, 3), dtype=np.uint8), (5, 5), 0)
    textures = [np.dstack([rng.integers(150, 255, (BOX_H, BOX_W), dtype=np.uint8),
                           rng.integers(0, 60, (BOX_H, BOX_W), dtype=np.uint8),
                           rng.integers(100, 200, (BOX_H, BOX_W), dtype=np.uint8)]),
                np.dstack([rng.integers(0, 60, (BOX_H, BOX_W), dtype=np.uint8),
                           rng.integers(180, 255, (BOX_H, BOX_W), dtype=np.uint8),
                           rng.integers(150, 255, (BOX_H, BOX_W), dtype=np.uint8)])]
    frames = []
    for frame in range(FRAMES):
        image = background.copy()
        for (x1, y1, x2, y2), texture in zip(ground_truth(frame).astype(int), textures):
            image[y1:y2, x1:x2] = texture
        frames.append(image)
    return frames


@pytest.fixture(scope="module")
def clip():
    return synthetic_clip()


@pytest.fixture(scope="module")
def video_path(tmp_path_factory, clip):
    path = tmp_path_factory.mktemp("video") / "walkers.avi"
    # Lossless FFV1 keeps the synthetic pixels exact, so every input kind sees the same frames.
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 10.0, (WIDTH, HEIGHT))
    assert writer.isOpened()
    for image in clip:
        writer.write(image)
    writer.release()
    return path


def write_image_bag(path, clip, storage):
    """A bag with the clip on /camera/image (rgb8, stamped at 10 Hz) and a string topic beside it."""
    typestore = bag_typestore()
    types = typestore.types
    with Writer(path, version=9, storage_plugin=storage) as writer:
        images = writer.add_connection("/camera/image", "sensor_msgs/msg/Image", typestore=typestore)
        notes = writer.add_connection("/notes", "std_msgs/msg/String", typestore=typestore)
        for index, bgr in enumerate(clip):
            stamp = types["builtin_interfaces/msg/Time"](sec=1000 + index // 10, nanosec=(index % 10) * 100_000_000)
            rgb = np.ascontiguousarray(bgr[..., ::-1])
            msg = types["sensor_msgs/msg/Image"](
                header=types["std_msgs/msg/Header"](stamp=stamp, frame_id="camera_optical"), height=HEIGHT,
                width=WIDTH, encoding="rgb8", is_bigendian=0, step=WIDTH * 3, data=rgb.reshape(-1))
            log_ns = 5_000_000_000 + index * 100_000_000
            writer.write(images, log_ns, typestore.serialize_cdr(msg, "sensor_msgs/msg/Image"))
            writer.write(notes, log_ns + 1, typestore.serialize_cdr(types["std_msgs/msg/String"](data=str(index)),
                                                                    "std_msgs/msg/String"))


def check_mot_tracks_follow_the_walkers(mot_path, frames=FRAMES):
    """Both walkers are tracked, each under one id, in most frames once the background is learnt.

    The motion detector misses a few frames while its background model settles, so frames without
    tracks are allowed; frames with tracks must have both walkers, well located.
    """
    rows = read_mot_rows(mot_path)
    assert len(rows) > 0
    assert rows.frames.min() >= 1 and rows.frames.max() <= frames
    assert len(np.unique(np.column_stack([rows.frames, rows.ids]), axis=0)) == len(rows)  # one row per id/frame
    ids_per_walker = [set(), set()]
    tracked_frames = 0
    for frame in range(10, frames + 1):
        here = rows.frames == frame
        if not here.any():
            continue
        tracked_frames += 1
        iou = iou_matrix(ground_truth(frame - 1), rows.boxes_xyxy[here])
        best = iou.argmax(axis=1)
        assert (iou.max(axis=1) > 0.5).all(), f"frame {frame}: IoU {iou.max(axis=1)}"
        for walker in range(2):
            ids_per_walker[walker].add(int(rows.ids[here][best[walker]]))
    assert tracked_frames >= 0.75 * (frames - 9)
    assert all(len(ids) == 1 for ids in ids_per_walker), ids_per_walker
    assert ids_per_walker[0] != ids_per_walker[1]
    return rows


def count_video_frames(path):
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    capture.release()
    return count


def test_video_file_gives_mot_results_and_annotated_video(tmp_path, video_path, capsys):
    assert track.main([str(video_path), "--out", str(tmp_path)]) == 0
    check_mot_tracks_follow_the_walkers(tmp_path / "walkers.txt")
    assert count_video_frames(tmp_path / "walkers.mp4") == FRAMES
    assert f"tracked {FRAMES} frames" in capsys.readouterr().out


def test_image_folder_matches_the_video_run(tmp_path, clip, video_path):
    folder = tmp_path / "walkers_frames"
    folder.mkdir()
    for index, image in enumerate(clip):
        cv2.imwrite(str(folder / f"{index + 1:06d}.png"), image)
    # Same rate as the video, so both runs see the same timestamps.
    assert track.main([str(folder), "--fps", "10", "--out", str(tmp_path / "a"), "--no-video",
                       "--max-frames", "25"]) == 0
    assert track.main([str(video_path), "--out", str(tmp_path / "b"), "--no-video", "--max-frames", "25"]) == 0
    assert not (tmp_path / "a" / "walkers_frames.mp4").exists()
    folder_rows = (tmp_path / "a" / "walkers_frames.txt").read_text()
    assert folder_rows and folder_rows == (tmp_path / "b" / "walkers.txt").read_text()
    assert read_mot_rows(tmp_path / "a" / "walkers_frames.txt").frames.max() <= 25


@pytest.mark.parametrize("storage", [StoragePlugin.SQLITE3, StoragePlugin.MCAP])
def test_bag_gets_a_tracks_topic_that_matches_the_mot_file(tmp_path, clip, storage):
    bag = tmp_path / "rec"
    write_image_bag(bag, clip, storage)
    out = tmp_path / "out"
    assert track.main([str(bag), "--topic", "/camera/image", "--out", str(out)]) == 0
    rows = check_mot_tracks_follow_the_walkers(out / "rec.txt")
    assert count_video_frames(out / "rec.mp4") == FRAMES

    typestore = track.vision_typestore()
    with Reader(out / "rec_tracks") as reader:
        topics = reader.topics
        assert topics["/tracks"].msgtype == "vision_msgs/msg/Detection2DArray"
        assert topics["/tracks"].msgcount == FRAMES
        assert topics["/camera/image"].msgcount == FRAMES and topics["/notes"].msgcount == FRAMES
        suffixes = {p.suffix for p in (out / "rec_tracks").iterdir()}
        assert (".mcap" if storage == StoragePlugin.MCAP else ".db3") in suffixes
        tracks_conn = [c for c in reader.connections if c.topic == "/tracks"]
        from_bag = []
        for index, (_, log_ns, raw) in enumerate(reader.messages(tracks_conn)):
            msg = typestore.deserialize_cdr(raw, "vision_msgs/msg/Detection2DArray")
            assert log_ns == 5_000_000_000 + index * 100_000_000
            assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (1000 + index // 10, (index % 10) * 10**8)
            assert msg.header.frame_id == "camera_optical"
            for det in msg.detections:
                assert det.header.frame_id == "camera_optical" and det.header.stamp == msg.header.stamp
                assert det.results[0].hypothesis.class_id == "person"
                centre, size = det.bbox.center.position, (det.bbox.size_x, det.bbox.size_y)
                from_bag.append((index + 1, int(det.id), centre.x - size[0] / 2, centre.y - size[1] / 2, *size,
                                 det.results[0].hypothesis.score))
    from_mot = np.column_stack([rows.frames, rows.ids, rows.boxes_xyxy[:, :2],
                                rows.boxes_xyxy[:, 2:] - rows.boxes_xyxy[:, :2], rows.scores])
    from_bag = np.array(sorted(from_bag))
    np.testing.assert_allclose(from_bag, from_mot[np.lexsort((from_mot[:, 1], from_mot[:, 0]))], atol=0.01)


def test_existing_output_bag_is_kept_unless_overwrite(tmp_path, clip, capsys):
    bag = tmp_path / "rec"
    write_image_bag(bag, clip[:12], StoragePlugin.SQLITE3)
    out = tmp_path / "out"
    assert track.main([str(bag), "--out", str(out), "--no-video"]) == 0
    assert track.main([str(bag), "--out", str(out), "--no-video"]) == 2
    assert "exists; remove it or pass --overwrite" in capsys.readouterr().err
    assert track.main([str(bag), "--out", str(out), "--no-video", "--overwrite"]) == 0
    with Reader(out / "rec_tracks") as reader:
        assert reader.topics["/tracks"].msgcount == 12


def test_interrupt_keeps_what_was_written(tmp_path, clip, monkeypatch):
    bag = tmp_path / "rec"
    write_image_bag(bag, clip, StoragePlugin.SQLITE3)
    real_process = track.TrackingRun.process

    def process_then_interrupt(self, frame):
        if frame.index == 20:
            raise KeyboardInterrupt
        return real_process(self, frame)

    monkeypatch.setattr(track.TrackingRun, "process", process_then_interrupt)
    out = tmp_path / "out"
    assert track.main([str(bag), "--out", str(out)]) == track.INTERRUPTED_EXIT_CODE
    assert read_mot_rows(out / "rec.txt").frames.max() == 20
    assert count_video_frames(out / "rec.mp4") == 20
    with Reader(out / "rec_tracks") as reader:
        assert reader.topics["/tracks"].msgcount == 20
        assert reader.topics["/camera/image"].msgcount == 21


def test_bad_inputs_give_one_clear_error(tmp_path, capsys, video_path):
    assert track.main([str(tmp_path / "missing.mp4")]) == 2
    assert "input not found" in capsys.readouterr().err
    assert track.main([str(video_path), "--out", str(tmp_path), "--config", "tracker.no_such_field=1"]) == 2
    assert "no_such_field" in capsys.readouterr().err
    assert track.main([str(video_path), "--out", str(tmp_path), "--config", "oops"]) == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err
    assert track.main([str(video_path), "--model", str(tmp_path / "nope.pt"), "--out", str(tmp_path)]) == 2
    assert "nope.pt" in capsys.readouterr().err


def test_overrides_nest_and_type_their_values():
    assert track.parse_overrides(["tracker.max_age=60", "detector.classes=[0, 2]", "motion_compensation=true",
                                  "reid.backend=none", "tracker.max_cosine_distance=0.25"]) == {
        "tracker": {"max_age": 60, "max_cosine_distance": 0.25}, "detector": {"classes": [0, 2]},
        "motion_compensation": True, "reid": {"backend": "none"}}


def test_camera_info_and_ground_plane_settings_give_metres(tmp_path, video_path):
    # A level camera 2 m up with f = 200 px: a box bottom b px below the principal point stands 400 / b m ahead.
    camera_info = tmp_path / "camera.yaml"
    camera_info.write_text("image_width: 320\nimage_height: 240\ncamera_name: test\ncamera_matrix:\n  rows: 3\n"
                           "  cols: 3\n  data: [200, 0, 160, 0, 200, 20, 0, 0, 1]\ndistortion_model: plumb_bob\n"
                           "distortion_coefficients:\n  rows: 1\n  cols: 5\n  data: [0, 0, 0, 0, 0]\n")
    assert track.main([str(video_path), "--out", str(tmp_path), "--no-video", "--camera-info", str(camera_info),
                       "--config", "spatial.mode=ground_plane", "spatial.camera_z=2.0"]) == 0
    table = np.loadtxt(tmp_path / "walkers.txt", delimiter=",")
    bottoms = table[:, 3] + table[:, 5]
    ahead = 400.0 / (bottoms - 20.0)
    # Ground x ahead of the camera, z on the ground; the filter smooths, so within 10 %.
    assert np.median(np.abs(table[:, 7] / ahead - 1.0)) < 0.1 and (table[:, 9] == 0).all()
    velocities = np.loadtxt(tmp_path / "walkers_velocities.txt", delimiter=",")
    assert velocities.shape[1] == 5 and len(velocities) == len(table)
    assert track.main([str(video_path), "--out", str(tmp_path), "--config", "spatial.mode=ground_plane"]) == 2
