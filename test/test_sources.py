"""Frame sources: video files, image folders, cameras and ROS 2 bags, with their bad inputs.

Decoding every encoding and every bad image is tested in test_image_codec.py; here rosbags messages go
through that shared decoder.
"""
import cv2
import numpy as np
import pytest
from rosbags.rosbag2 import StoragePlugin, Writer

from deepsort_ros.sources import (
    BagSource,
    CameraSource,
    ImageFolderSource,
    VideoFileSource,
    bag_typestore,
    open_source,
)

TYPESTORE = bag_typestore()
Image = TYPESTORE.types["sensor_msgs/msg/Image"]
CompressedImage = TYPESTORE.types["sensor_msgs/msg/CompressedImage"]
Header = TYPESTORE.types["std_msgs/msg/Header"]
Time = TYPESTORE.types["builtin_interfaces/msg/Time"]
String = TYPESTORE.types["std_msgs/msg/String"]


def synthetic_frames(count, height=48, width=64):
    """Frames whose pixels encode their index, so order and content can be checked."""
    rng = np.random.default_rng(7)
    base = rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8)
    return [np.roll(base, shift=i, axis=1) for i in range(count)]


def header(index, frame_id="cam"):
    return Header(stamp=Time(sec=100 + index, nanosec=500_000_000), frame_id=frame_id)


def image_msg(index, bgr):
    height, width = bgr.shape[:2]
    return Image(header=header(index), height=height, width=width, encoding="bgr8", is_bigendian=0,
                 step=width * 3, data=bgr.reshape(-1))


def compressed_msg(index, bgr):
    ok, png = cv2.imencode(".png", bgr)
    assert ok
    return CompressedImage(header=header(index), format="png", data=png.reshape(-1))


def write_bag(path, frames, storage=StoragePlugin.SQLITE3):
    """A bag with raw images on /cam/image, PNGs on /cam/compressed and strings on /chatter."""
    with Writer(path, version=9, storage_plugin=storage) as writer:
        raw = writer.add_connection("/cam/image", "sensor_msgs/msg/Image", typestore=TYPESTORE)
        packed = writer.add_connection("/cam/compressed", "sensor_msgs/msg/CompressedImage", typestore=TYPESTORE)
        text = writer.add_connection("/chatter", "std_msgs/msg/String", typestore=TYPESTORE)
        for index, bgr in enumerate(frames):
            log_ns = (100 + index) * 10**9 + 500_000_000
            writer.write(raw, log_ns, TYPESTORE.serialize_cdr(image_msg(index, bgr), Image.__msgtype__))
            writer.write(packed, log_ns + 1, TYPESTORE.serialize_cdr(compressed_msg(index, bgr),
                                                                     CompressedImage.__msgtype__))
            writer.write(text, log_ns + 2, TYPESTORE.serialize_cdr(String(data=f"m{index}"),
                                                                   String.__msgtype__))


def test_video_file_yields_every_frame_with_rate_timestamps(tmp_path):
    path = tmp_path / "clip.avi"
    frames = synthetic_frames(6)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (64, 48))
    for bgr in frames:
        writer.write(bgr)
    writer.release()
    with open_source(str(path)) as source:
        assert isinstance(source, VideoFileSource)
        assert (source.name, source.fps, source.frame_count) == ("clip", 5.0, 6)
        got = list(source)
    assert [f.index for f in got] == list(range(6))
    np.testing.assert_allclose([f.timestamp_s for f in got], np.arange(6) / 5.0)
    assert all(f.bgr.shape == (48, 64, 3) and f.bgr.dtype == np.uint8 and f.header is None for f in got)
    # MJPG is lossy: frames must still be recognisably the ones written, in order.
    errors = [[np.abs(f.bgr.astype(int) - ref.astype(int)).mean() for ref in frames] for f in got]
    assert list(np.argmin(errors, axis=1)) == list(range(6))


def test_image_folder_in_natural_order_skips_other_files(tmp_path):
    frames = synthetic_frames(3)
    for name, bgr in zip(["frame2.png", "frame10.png", "frame1.png"], [frames[1], frames[2], frames[0]]):
        cv2.imwrite(str(tmp_path / name), bgr)
    (tmp_path / "notes.txt").write_text("not an image")
    with open_source(tmp_path, fps=10.0) as source:
        assert isinstance(source, ImageFolderSource)
        assert source.frame_count == 3
        got = list(source)
    for frame, ref in zip(got, frames):
        np.testing.assert_array_equal(frame.bgr, ref)
    np.testing.assert_allclose([f.timestamp_s for f in got], [0.0, 0.1, 0.2])


def test_unreadable_image_in_folder_is_skipped(tmp_path):
    cv2.imwrite(str(tmp_path / "a1.png"), synthetic_frames(1)[0])
    (tmp_path / "a2.png").write_bytes(b"garbage")
    got = list(ImageFolderSource(tmp_path))
    assert [f.index for f in got] == [0]


@pytest.mark.parametrize("storage, suffix", [(StoragePlugin.SQLITE3, ".db3"), (StoragePlugin.MCAP, ".mcap")])
def test_bag_raw_and_compressed_topics_decode_exactly(tmp_path, storage, suffix):
    frames = synthetic_frames(4)
    bag = tmp_path / "rec"
    write_bag(bag, frames, storage)
    for spec in (bag, bag / f"rec{suffix}"):
        for topic in ("/cam/image", "cam/compressed"):
            with open_source(spec, topic=topic) as source:
                assert isinstance(source, BagSource)
                assert (source.name, source.frame_count) == ("rec", 4)
                assert source.fps == pytest.approx(1.0)
                got = list(source)
            assert [f.index for f in got] == list(range(4))
            for frame, ref in zip(got, frames):
                np.testing.assert_array_equal(frame.bgr, ref)
            assert [f.timestamp_s for f in got] == pytest.approx([100.5, 101.5, 102.5, 103.5])
            assert got[2].header == (102, 500_000_000, "cam", 102 * 10**9 + 500_000_000 + (topic != "/cam/image"))


def test_bag_records_cover_every_message_and_mark_image_frames(tmp_path):
    write_bag(tmp_path / "rec", synthetic_frames(3))
    with BagSource(tmp_path / "rec", "/cam/image") as source:
        records = list(source.records())
    assert len(records) == 9
    assert [r.connection.topic for r in records if r.frame is not None] == ["/cam/image"] * 3
    assert [r.frame.index for r in records if r.frame is not None] == [0, 1, 2]
    assert [r.log_time_ns for r in records] == sorted(r.log_time_ns for r in records)


def test_bag_with_one_image_topic_needs_no_topic(tmp_path):
    with Writer(tmp_path / "one", version=9) as writer:
        conn = writer.add_connection("/only", "sensor_msgs/msg/Image", typestore=TYPESTORE)
        writer.write(conn, 5, TYPESTORE.serialize_cdr(image_msg(0, synthetic_frames(1)[0]), Image.__msgtype__))
    with open_source(tmp_path / "one") as source:
        assert source.topic == "/only"
        assert len(list(source)) == 1


def test_bag_bad_topics_are_named(tmp_path):
    write_bag(tmp_path / "rec", synthetic_frames(1))
    with pytest.raises(ValueError, match=r"name the image topic .*/cam/compressed, /cam/image"):
        open_source(tmp_path / "rec")
    with pytest.raises(ValueError, match=r"no topic '/nope'.*/cam/compressed, /cam/image"):
        open_source(tmp_path / "rec", topic="/nope")
    with pytest.raises(ValueError, match=r"'/chatter'.*std_msgs/msg/String; expected sensor_msgs/msg/Image"):
        open_source(tmp_path / "rec", topic="/chatter")


def test_corrupt_bag_image_is_skipped_and_later_frames_kept(tmp_path):
    frames = synthetic_frames(3)
    with Writer(tmp_path / "bad", version=9) as writer:
        conn = writer.add_connection("/img", "sensor_msgs/msg/Image", typestore=TYPESTORE)
        for index, bgr in enumerate(frames):
            msg = image_msg(index, bgr)
            if index == 1:
                msg = Image(header=msg.header, height=48, width=64, encoding="bgr8", is_bigendian=0,
                            step=64 * 3, data=msg.data[:100])
            writer.write(conn, index, TYPESTORE.serialize_cdr(msg, Image.__msgtype__))
    got = list(BagSource(tmp_path / "bad", "/img"))
    assert [f.index for f in got] == [0, 2]
    np.testing.assert_array_equal(got[1].bgr, frames[2])


def test_missing_and_wrong_inputs_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="input not found"):
        open_source(tmp_path / "missing.mp4")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images in"):
        open_source(tmp_path / "empty")
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    with pytest.raises(ValueError, match="cannot open"):
        open_source(tmp_path / "junk.mp4")
    with pytest.raises(ValueError, match="applies to bags only"):
        open_source(tmp_path / "junk.mp4", topic="/image")
    with pytest.raises(ValueError, match="cannot read bag"):
        (tmp_path / "broken").mkdir()
        (tmp_path / "broken" / "metadata.yaml").write_text("rosbag2_bagfile_information: {}\n")
        open_source(tmp_path / "broken")


def test_camera_that_does_not_exist_is_named():
    with pytest.raises(ValueError, match="cannot open camera 97"):
        CameraSource(97)
    with pytest.raises(ValueError, match="applies to bags only"):
        open_source("97", topic="/image")
