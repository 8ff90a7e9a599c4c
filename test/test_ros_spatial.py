"""tracker_node's metric outputs over a real ROS graph: depth + camera_info + image (+ another detector's
boxes) in; tracks_3d, tracks/points, tracks/markers and target_pose out, and every bad spatial input survived.

The node runs in tracker-only mode with histogram appearance (so it pairs each image with its detections),
fed the synthetic RGB-D scene (:mod:`deepsort_ros.tools.synthetic_depth`) frame by frame: camera_info and
depth first, then detections (the true boxes of people at least 30 % visible) and the image; each test waits
for that stamp's outputs, so nothing depends on machine speed.
"""
import os

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseStamped
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header
from std_srvs.srv import Trigger
from vision_msgs.msg import Detection2DArray, Detection3DArray
from visualization_msgs.msg import Marker, MarkerArray

from deepsort_ros.tools.synthetic_depth import DepthScene
from test_ros_node import NodeProcess, Probe, assert_clean_sigint, detection_array, key, raw_image, stamp_of

from rclpy.qos import QoSProfile, ReliabilityPolicy
from rclpy.serialization import serialize_message

OPTICAL_FRAME = "test_camera_optical"
SCENE = DepthScene(width=320, height=240, focal=262.5)
FPS = 10.0  # stamp_of's rate
OUTPUTS = {"tracks": Detection2DArray, "tracks_3d": Detection3DArray, "tracks/points": PointCloud2,
           "tracks/markers": MarkerArray}


def camera_info(header, focal=SCENE.focal, width=SCENE.width):
    msg = CameraInfo(header=Header(stamp=header.stamp, frame_id=OPTICAL_FRAME), width=width,
                     height=SCENE.height, distortion_model="plumb_bob")
    msg.k = [focal, 0.0, SCENE.camera.k[0, 2], 0.0, focal, SCENE.camera.k[1, 2], 0.0, 0.0, 1.0]
    msg.d = [0.0] * 5
    return msg


def depth_image(header, depth, encoding="16UC1"):
    msg = Image(header=Header(stamp=header.stamp, frame_id=OPTICAL_FRAME), height=depth.shape[0],
                width=depth.shape[1], encoding=encoding, step=depth.shape[1] * depth.dtype.itemsize * (
                    depth.shape[2] if depth.ndim == 3 else 1), data=depth.tobytes())
    return msg


def start_node(ros_env, name, *params):
    namespace = f"/{name}_{os.getpid()}"
    args = ["-p", "detector.backend:=external", "-p", "qos.reliability:=reliable", "-p", "qos.depth:=1000"]
    for param in params:
        args += ["-p", param]
    node = NodeProcess(ros_env, namespace, *args)
    probe = Probe(namespace)
    for topic, msg_type in {**OUTPUTS, "target_pose": PoseStamped}.items():
        probe.subscribe(msg_type, f"{namespace}/{topic}")
    probe.subscribe(DiagnosticArray, "/diagnostics")
    # Reliable, and deep enough to keep every message of a fuzz test until the node acknowledges it.
    qos = QoSProfile(depth=2000, reliability=ReliabilityPolicy.RELIABLE)
    publishers = {topic: probe.node.create_publisher(msg_type, f"{namespace}/{topic}", qos) for topic, msg_type in
                  (("image", Image), ("detections", Detection2DArray), ("depth", Image),
                   ("camera_info", CameraInfo))}
    needed = ("image", "detections", "camera_info") + (("depth",) if "spatial.mode:=depth" in params else ())
    probe.wait_until(lambda: all(publishers[t].get_subscription_count() for t in needed)
                     or node.process.poll() is not None, what="the node's subscriptions")
    assert node.process.poll() is None, f"node exited:\n{node.output()}"
    state = {"node": node, "probe": probe, "publishers": publishers, "namespace": namespace, "next": 0}
    # Messages sent before the node's publishers have matched the probe are lost: send empty frames until
    # every output of one arrives.
    for _ in range(40):
        header = stamp_of(state["next"])
        send(state, np.zeros((0, 4)), SCENE.render(0).bgr, wait=("tracks",),
             depth=depth_image(header, SCENE.render(0).depth_mm))
        try:
            probe.wait(lambda: all(probe.message_with_stamp(f"{namespace}/{topic}", header) is not None
                                   for topic in ("tracks_3d", "tracks/points")), timeout=1.0)
            break
        except AssertionError:
            continue
    assert probe.message_with_stamp(f"{namespace}/tracks_3d", header) is not None, node.output()
    probe.wait(lambda: probe.messages[f"{namespace}/tracks/markers"], what="the first tracks/markers")
    state["next"] += 10  # a gap, so the scene starts its own tracks
    return state


def send(state, boxes, bgr, depth=None, info=True, wait=tuple(OUTPUTS)):
    """Publish one frame (camera_info, depth, detections, image); returns {topic: message} for ``wait``."""
    index = state["next"]
    state["next"] += 1
    header = stamp_of(index)
    publishers = state["publishers"]
    if info is not None:
        publishers["camera_info"].publish(info if isinstance(info, CameraInfo) else camera_info(header))
    if depth is not None:
        publishers["depth"].publish(depth)
    publishers["detections"].publish(detection_array(header, boxes, ["person"] * len(boxes), np.zeros((len(boxes), 2))))
    publishers["image"].publish(raw_image(bgr, header))
    probe, namespace = state["probe"], state["namespace"]
    out = {topic: probe.wait_for_stamp(f"{namespace}/{topic}", header) for topic in wait if topic != "tracks/markers"}
    if "tracks/markers" in wait:
        # A MarkerArray has no header: it is published after tracks_3d, once per tracks_3d message (and
        # once more, DELETEALL only, on each deactivation).
        count = len(probe.messages[f"{namespace}/tracks_3d"])
        probe.wait(lambda: len(frame_markers(probe, namespace)) >= count, what="tracks/markers")
        out["tracks/markers"] = frame_markers(probe, namespace)[count - 1]
    return out


def frame_markers(probe, namespace):
    """The tracks/markers messages of processed frames (not the DELETEALLs of deactivations)."""
    with probe.condition:
        return [msg for msg in probe.messages[f"{namespace}/tracks/markers"]
                if not any(marker.action == Marker.DELETEALL for marker in msg.markers)]


def scene_frame(state, t, **kwargs):
    frame = SCENE.render(t)
    header = stamp_of(state["next"])
    depth = kwargs.pop("depth", depth_image(header, frame.depth_mm))
    return frame, send(state, frame.boxes[frame.visible > 0.3], frame.bgr, depth=depth, **kwargs)


def points_of(cloud):
    names = [f.name for f in cloud.fields]
    dtype = np.dtype({"names": names, "formats": ["<f4"] * 6 + ["<u4"],
                      "offsets": [f.offset for f in cloud.fields], "itemsize": cloud.point_step})
    return np.frombuffer(bytes(cloud.data), dtype=dtype)


@pytest.fixture(scope="module")
def depth_node(ros_env):
    state = start_node(ros_env, "depth", "spatial.mode:=depth", "spatial.target.mode:=nearest",
                       "spatial.camera_info_timeout_s:=0.5")
    yield state
    state["node"].stop()
    state["probe"].close()


def test_depth_tracks_carry_metres_ids_stamps_and_frames(depth_node):
    errors, shown = [], set()
    for index in range(30):
        frame, out = scene_frame(depth_node, index / FPS)
        tracks, tracks_3d, cloud, markers = (out[t] for t in OUTPUTS)
        ids = [d.id for d in tracks.detections]
        assert [d.id for d in tracks_3d.detections] == ids          # the same tracks, the same ids
        for msg in (tracks_3d, cloud, markers.markers[0] if markers.markers else None):
            if msg is not None:
                assert key(msg.header) == key(tracks.header) and msg.header.frame_id == OPTICAL_FRAME
        points = points_of(cloud)
        assert [str(i) for i in points["id"]] == ids
        assert [f.name for f in cloud.fields] == ["x", "y", "z", "vx", "vy", "vz", "id"]
        for detection, point in zip(tracks_3d.detections, points):
            centre = detection.bbox.center.position
            position = np.array([centre.x, centre.y, centre.z])
            assert np.allclose(position, [point["x"], point["y"], point["z"]], atol=1e-4)
            assert np.reshape(detection.results[0].pose.covariance, (6, 6))[:3, :3].trace() > 0
            assert detection.bbox.size.y > 1.0                       # a person's height, metres
            errors.append(np.min(np.linalg.norm(frame.centres - position, axis=1)))
        added = {m.id for m in markers.markers if m.action == Marker.ADD}
        assert {m.ns for m in markers.markers if m.action == Marker.ADD} <= {"body", "label", "velocity"}
        assert added == {int(i) for i in ids}
        shown |= added
        if ids:
            target = depth_node["probe"].wait_for_stamp(f"{depth_node['namespace']}/target_pose", tracks.header)
            nearest = min(tracks_3d.detections, key=lambda d: np.linalg.norm(
                [d.bbox.center.position.x, d.bbox.center.position.y, d.bbox.center.position.z]))
            assert target.header.frame_id == OPTICAL_FRAME
            assert target.pose.position.z == pytest.approx(nearest.bbox.center.position.z)
    assert len(shown) >= 4 and np.median(errors) < 0.1
    # Everyone leaves: the tracks end and every marker shown is deleted (no ghosts in RViz).
    deleted = set()
    for _ in range(6):
        out = send(depth_node, np.zeros((0, 4)), SCENE.render(0).bgr,
                   depth=depth_image(stamp_of(depth_node["next"]), SCENE.render(0).depth_mm))
        deleted |= {(m.ns, m.id) for m in out["tracks/markers"].markers if m.action == Marker.DELETE}
    assert not out["tracks"].detections and not out["tracks/markers"].markers
    assert deleted >= {(ns, i) for ns in ("body", "label", "velocity") for i in shown}


def test_spatial_outputs_follow_the_life_cycle_and_reset_leaves_no_ghosts(depth_node):
    """Deactivated: the spatial subscriptions go, every marker is deleted and nothing goes out on tracks,
    tracks_3d, tracks/points or tracks/markers; reactivated, the kept tracks come back; ~/reset deletes the
    markers of the tracks it ended."""
    probe, namespace, node = depth_node["probe"], depth_node["namespace"], depth_node["node"]
    publishers = depth_node["publishers"]
    for index in range(8):
        _, out = scene_frame(depth_node, index / FPS)
    shown = {m.id for m in out["tracks/markers"].markers if m.action == Marker.ADD}
    assert shown
    with probe.condition:
        counts = {topic: len(probe.messages[f"{namespace}/{topic}"]) for topic in OUTPUTS}

    request = ChangeState.Request(transition=Transition(id=Transition.TRANSITION_DEACTIVATE))
    assert probe.call(ChangeState, f"{node.name}/change_state", request).success
    probe.wait_until(lambda: not any(publishers[t].get_subscription_count() for t in ("image", "depth", "camera_info")),
                     what="the subscriptions to go")
    markers = f"{namespace}/tracks/markers"
    probe.wait(lambda: len(probe.messages[markers]) > counts["tracks/markers"], what="the markers cleared")
    with probe.condition:
        (cleared,) = probe.messages[markers][counts["tracks/markers"]:]
    namespaces = ("body", "label", "velocity")
    assert {(m.ns, m.action) for m in cleared.markers} == {(ns, Marker.DELETEALL) for ns in namespaces}
    unseen = []
    for index in range(8, 11):
        frame = SCENE.render(index / FPS)
        unseen.append(stamp_of(depth_node["next"]))
        send(depth_node, frame.boxes[frame.visible > 0.3], frame.bgr, wait=(),
             depth=depth_image(unseen[-1], frame.depth_mm))
    with probe.condition:
        counts = {topic: len(probe.messages[f"{namespace}/{topic}"]) for topic in OUTPUTS}

    request = ChangeState.Request(transition=Transition(id=Transition.TRANSITION_ACTIVATE))
    assert probe.call(ChangeState, f"{node.name}/change_state", request).success
    probe.wait_until(lambda: all(publishers[t].get_subscription_count() for t in ("image", "depth", "camera_info")),
                     what="the subscriptions again")
    # The first frames after activation may beat their camera_info (subscribed afresh): send until one is
    # measured.
    for index in range(11, 30):
        _, out = scene_frame(depth_node, index / FPS, wait=("tracks",))
        header = out["tracks"].header
        try:
            probe.wait(lambda: probe.message_with_stamp(f"{namespace}/tracks_3d", header) is not None, timeout=2.0)
            break
        except AssertionError:
            continue
    assert probe.message_with_stamp(f"{namespace}/tracks_3d", header).detections, node.output()
    for topic in ("tracks", "tracks_3d", "tracks/points"):
        assert all(probe.message_with_stamp(f"{namespace}/{topic}", h) is None for h in unseen), topic
    with probe.condition:
        published = len(probe.messages[f"{namespace}/tracks_3d"]) - counts["tracks_3d"]
    # Markers go out once per tracks_3d message: none were published while inactive.
    probe.wait(lambda: len(probe.messages[markers]) >= counts["tracks/markers"] + published, what="tracks/markers")
    with probe.condition:
        assert len(probe.messages[markers]) == counts["tracks/markers"] + published
        shown = {m.id for m in probe.messages[markers][-1].markers if m.action == Marker.ADD}
    assert shown  # the kept tracks are shown again

    response = probe.call(Trigger, f"{node.name}/reset", Trigger.Request())
    assert response.success, response.message
    _, out = scene_frame(depth_node, 30 / FPS)
    assert not out["tracks"].detections  # new tracks are not confirmed yet
    deleted = {(m.ns, m.id) for m in out["tracks/markers"].markers if m.action == Marker.DELETE}
    assert deleted == {(ns, i) for ns in namespaces for i in shown}


def test_bad_spatial_inputs_are_logged_while_2d_tracks_flow(depth_node):
    node = depth_node["node"]
    start = depth_node["next"]
    bad = {
        "wrong encoding": dict(depth=lambda h, f: depth_image(h, np.zeros((240, 320, 3), np.uint8), "rgb8")),
        "not registered": dict(depth=lambda h, f: depth_image(h, np.zeros((100, 100), np.uint16))),
        "all zero": dict(depth=lambda h, f: depth_image(h, np.zeros((240, 320), np.uint16))),
        "all NaN": dict(depth=lambda h, f: depth_image(h, np.full((120, 160), np.nan, np.float32), "32FC1")),
        "zero focal": dict(info=lambda h: camera_info(h, focal=0.0)),
        "wrong camera_info size": dict(info=lambda h: camera_info(h, width=640)),
        "stale camera_info": dict(info=lambda h: None),
    }
    for what, spec in bad.items():
        for _ in range(8):
            t = ((depth_node["next"] - start) % 30) / FPS
            frame = SCENE.render(t)
            header = stamp_of(depth_node["next"])
            depth = spec["depth"](header, frame) if "depth" in spec else depth_image(header, frame.depth_mm)
            info = spec["info"](header) if "info" in spec else True
            out = send(depth_node, frame.boxes[frame.visible > 0.3], frame.bgr, depth=depth, info=info,
                       wait=("tracks",))
            if depth_node["next"] - start > 5:
                assert out["tracks"].detections, what                # 2D tracks keep flowing
    # A half-resolution 32FC1 depth image registered to the colour image is fine again.
    for _ in range(3):
        frame = SCENE.render((depth_node["next"] - start) / FPS)
        half = (frame.depth_mm[::2, ::2] / 1000.0).astype(np.float32)
        out = send(depth_node, frame.boxes[frame.visible > 0.3], frame.bgr,
                   depth=depth_image(stamp_of(depth_node["next"]), half, "32FC1"))
    assert [d.id for d in out["tracks_3d"].detections] == [d.id for d in out["tracks"].detections]
    log = node.output()
    for message in ("depth encoding 'rgb8' is not supported", "is not registered", "has no valid pixels",
                    "positive finite focal lengths", "camera_info is stale", "camera_info is for 640x240 images"):
        assert message in log, f"{message!r} not logged:\n{log}"
    assert "Traceback" not in log
    assert_clean_sigint(node)


def test_ground_plane_node_publishes_in_the_ground_frame_and_survives_the_horizon(ros_env):
    # A level camera 1.2 m up (its optical axis along the ground frame's x): rows below the image centre
    # look at the ground, rows above it never meet it.
    state = start_node(ros_env, "ground", "spatial.mode:=ground_plane", "spatial.camera_z:=1.2",
                       "spatial.ground_frame:=site", "spatial.target.mode:=id")
    try:
        bgr = SCENE.render(0).bgr
        focal, cy = SCENE.focal, SCENE.camera.k[1, 2]
        below = np.array([[150.0, 60.0, 170.0, cy + focal * 1.2 / 4.0]])        # feet 4 m ahead
        for _ in range(6):
            out = send(state, below, bgr)
        (detection,) = out["tracks_3d"].detections
        # Follow that track: spatial.target.id changes at run time.
        assert state["probe"].set_parameter(state["node"].name, "spatial.target.id", int(detection.id)).successful
        out = send(state, below, bgr, wait=tuple(OUTPUTS) + ("target_pose",))
        (detection,) = out["tracks_3d"].detections
        assert out["tracks_3d"].header.frame_id == "site" and detection.id == out["tracks"].detections[0].id
        position = detection.bbox.center.position
        assert (position.x, position.y, position.z) == pytest.approx((4.0, (SCENE.camera.k[0, 2] - 160.0) / focal * 4.0, 0.0),
                                                                     abs=0.05)
        assert out["target_pose"].header.frame_id == "site"
        assert out["target_pose"].pose.position.x == pytest.approx(position.x)
        above = np.array([[150.0, 20.0, 170.0, cy - 30.0]])                      # bottom above the horizon
        counts = [len(send(state, above, bgr, wait=("tracks",))["tracks"].detections) for _ in range(8)]
        assert counts[-4:] == [1, 1, 1, 1]                                       # the 2D track flows
        assert "at or above the horizon" in state["node"].output()
        assert_clean_sigint(state["node"])
    finally:
        state["node"].stop()
        state["probe"].close()


def malformed_depth(n, header):
    """Depth image ``n`` of a cycle of 9 kinds that are malformed on their own (small: the layout is wrong)."""
    mm = np.full((24, 32), 3000, np.uint16)
    msg = depth_image(header, mm)
    kind = n % 9
    if kind == 0:
        msg = depth_image(header, np.zeros((24, 32, 3), np.uint8), "rgb8")
    elif kind == 1:
        msg.encoding = ["bgr8", "8UC1", "32FC3", "", "16SC1", "64FC1", "jpeg"][n % 7]
    elif kind == 2:
        msg.step = 32 * 2 - 1
    elif kind == 3:
        msg.data = msg.data[: len(msg.data) - 1 - n % 1000]
    elif kind == 4:
        msg.data = b""
    elif kind == 5:
        msg.height, msg.width, msg.step, msg.data = 0, 0, 0, b""
    elif kind == 6:
        msg.height, msg.width, msg.step = 60000, 60000, 120000  # huge, with a tiny buffer
    elif kind == 7:
        msg.encoding = "32FC1"  # 2 bytes a pixel where 4 are needed
    else:
        msg.height, msg.width, msg.step = 24, 100000, 200000
    return msg


def unusable_depth(n, header):
    """Depth image ``n`` of a cycle of 6 kinds that are well formed but useless for this frame."""
    full = (SCENE.height, SCENE.width)
    kind = n % 6
    if kind == 0:
        return depth_image(header, np.zeros(full, np.uint16))
    if kind == 1:
        return depth_image(header, np.full((SCENE.height // 2, SCENE.width // 2), np.nan, np.float32), "32FC1")
    if kind == 2:
        return depth_image(header, np.full(full, np.inf, np.float32), "32FC1")
    if kind == 3:
        return depth_image(header, np.full(full, -3.0, np.float32), "32FC1")
    if kind == 4:  # holes, infinities, negatives and absurd ranges only
        values = np.array([np.nan, np.inf, -np.inf, 0.0, -1.0, 1e30], np.float32)
        return depth_image(header, np.random.default_rng(n).choice(values, full), "32FC1")
    return depth_image(header, np.full((100, 100), 3000, np.uint16))  # not registered (aspect)


def malformed_camera_info(n, header):
    """CameraInfo ``n`` of a cycle of 14 kinds that are malformed on their own. (K and R have fixed lengths on
    the wire: rclpy cannot even build a message with another length.)"""
    msg = camera_info(header)
    k = list(msg.k)
    kind = n % 14
    if kind < 7:
        k[[0, 4, 0, 0, 4, 2, 5][kind]] = [0.0, 0.0, -262.5, np.nan, np.inf, np.nan, -np.inf][kind]
        msg.k = k
    elif kind == 7:
        msg.d = [0.1, np.nan, 0.0, 0.0, 0.0]
    elif kind == 8:
        msg.distortion_model, msg.d = "rational_polynomial", [0.1, 0.01, 0.0, 0.0, 0.0, 0.2, 0.0, 0.0]
    elif kind == 9:
        msg.d = [0.1] * 14
    elif kind == 10:
        msg.distortion_model, msg.d = "equidistant", [0.1, 0.01, 0.0, 0.0]
    elif kind == 11:
        msg.width = 0
    elif kind == 12:
        msg.height = 0
    else:
        msg.k, msg.d = [0.0] * 9, [0.0, np.inf, 0.0, 0.0, 0.0]
    return msg


def test_fuzzed_depth_and_camera_info_are_survived_without_poisoning_the_metric_state(ros_env):
    """1,000 bad depth images and 1,000 bad camera_infos (one of each in turn), a valid frame after every 250 bad
    messages: every valid frame is tracked with the same ids in 2D and 3D, measured, at the right positions.

    Malformed messages (all but every 25th depth image and every 50th camera_info) carry the stamp of the next
    frame, so a frame would pair with one if it were kept; they are rejected on arrival and counted. The others
    are well formed but useless (no valid depth, not registered, another image size): each goes with a frame of
    its own (tracked in 2D, predicted in 3D). Before the last valid frame come 200 byte strings that do not
    deserialise at all. The people walk slowly so that positions change from frame to frame."""
    # A node of its own: its logs are throttled per kind of problem, so another test's reports would hide these.
    depth_node = start_node(ros_env, "fuzz", "spatial.mode:=depth", "spatial.camera_info_timeout_s:=0.5")
    try:
        fuzz_spatial_inputs(depth_node)
        assert_clean_sigint(depth_node["node"])
    finally:
        depth_node["node"].stop()
        depth_node["probe"].close()


def fuzz_spatial_inputs(depth_node):
    probe, namespace, node = depth_node["probe"], depth_node["namespace"], depth_node["node"]
    publishers = depth_node["publishers"]
    frames = 6 + 40 + 20 + 8          # warm-up, unusable depth, unusable camera_info, valid
    sent_frames = []

    def scene_at():
        return SCENE.render(0.2 + 1.0 * len(sent_frames) / frames)

    def frame(**kwargs):
        rendered = scene_at()
        header = stamp_of(depth_node["next"])
        kwargs.setdefault("depth", depth_image(header, rendered.depth_mm))
        out = send(depth_node, rendered.boxes[rendered.visible > 0.3], rendered.bgr, **kwargs)
        sent_frames.append((rendered, out))
        return out

    for _ in range(6):
        out = frame()
    ids = sorted(d.id for d in out["tracks"].detections)
    assert len(ids) == 4 and sorted(d.id for d in out["tracks_3d"].detections) == ids
    _, before = probe.wait_for_status(node.name, lambda v: int(v["total_processed"]) >= len(sent_frames),
                                      "diagnostics covering the warm-up")
    mm_24x32 = np.full((24, 32), 3000, np.uint16)
    counts = {"depth": 0, "camera_info": 0}
    rejected = 0
    valid = []
    for n in range(2000):
        topic = ("depth", "camera_info")[n % 2]
        i = counts[topic]
        counts[topic] += 1
        header = stamp_of(depth_node["next"])        # the next frame's: a kept one would pair with it
        if topic == "depth" and i % 25 == 24:
            out = frame(depth=unusable_depth(i // 25, header), wait=("tracks", "tracks_3d"))
            predicted = out["tracks_3d"]
        elif topic == "camera_info" and i % 50 == 49:
            width, height = ((640, 480), (320, 200))[i // 50 % 2]
            info = camera_info(header, width=width)
            info.height = height
            out = frame(info=info, wait=("tracks",))
        else:
            publishers[topic].publish(malformed_depth(i, header) if topic == "depth"
                                      else malformed_camera_info(i, header))
            rejected += 1
            out = None
        if out is not None:
            assert sorted(d.id for d in out["tracks"].detections) == ids, ("2D tracks lost", topic, i)
        if n == 1999:
            # Last, bytes that are not a message at all (CDR cut short by 8 bytes or more, so never just its
            # padding, or garbled): the middleware drops them.
            rng = np.random.default_rng(5)
            old = stamp_of(0)
            for topic, msg in (("camera_info", camera_info(old)), ("depth", depth_image(old, mm_24x32))):
                data = serialize_message(msg)
                for k in range(100):
                    publishers[topic].publish(data[:int(rng.integers(0, len(data) - 8))] if k % 2
                                              else data[:4] + rng.bytes(int(rng.integers(0, 400))))
        if n % 250 == 249:
            # Every malformed message so far is counted, so the node has taken them all: the valid frame's own
            # depth image and camera_info are not stuck behind a backlog (the node waits INPUT_WAIT_S for them).
            probe.wait_for_status(node.name, lambda v: int(v["total_rejected"]) >= int(before["total_rejected"])
                                  + rejected, "the malformed messages counted")
            out = frame()
            valid.append((sent_frames[-1][0], out, predicted))
    assert len(sent_frames) == frames and rejected == 2000 - 60

    def variances(msg):
        return {d.id: np.trace(np.reshape(d.results[0].pose.covariance, (6, 6))[:3, :3]) for d in msg.detections}

    for rendered, out, predicted in valid:
        assert sorted(d.id for d in out["tracks"].detections) == ids
        # The same tracks in the same order, every one with a metric position.
        assert [d.id for d in out["tracks_3d"].detections] == [d.id for d in out["tracks"].detections]
        # Measured, not predicted: a malformed message with the frame's stamp did not take the place of its good
        # depth image or camera_info. The frame before it was predicted, so a measurement takes the variance
        # below that frame's and a prediction would take it above. (Only the direction is certain: how many
        # frames before that one were measured depends on when their camera_infos arrived, since any one within
        # camera_info_timeout_s pairs with a frame whose own has not arrived yet.)
        measured, unmeasured = variances(out["tracks_3d"]), variances(predicted)
        assert all(measured[track] < unmeasured[track] for track in ids), (measured, unmeasured)
        positions = np.array([[d.bbox.center.position.x, d.bbox.center.position.y, d.bbox.center.position.z]
                              for d in out["tracks_3d"].detections])
        errors = np.linalg.norm(positions[:, None] - rendered.centres[None], axis=2).min(axis=1)
        assert np.all(errors < 0.3), errors                                      # not poisoned
        assert np.isfinite(points_of(out["tracks/points"]).tolist()).all()
    with probe.condition:
        published = list(probe.messages[f"{namespace}/tracks_3d"])
    for msg in published:   # frames with unusable input too: predictions, never NaN or infinity
        for d in msg.detections:
            assert np.isfinite([d.bbox.center.position.x, d.bbox.center.position.y, d.bbox.center.position.z,
                                d.bbox.size.x, d.bbox.size.y, d.bbox.size.z, *d.results[0].pose.covariance]).all()

    # Counted: exactly the malformed messages, not the useless ones nor the frames.
    _, after = probe.wait_for_status(
        node.name, lambda v: int(v["total_rejected"]) >= int(before["total_rejected"]) + rejected
        and int(v["total_processed"]) >= int(before["total_processed"]) + frames - 6, "the rejected spatial inputs")
    assert int(after["total_rejected"]) == int(before["total_rejected"]) + rejected
    assert int(after["total_failed"]) == int(before["total_failed"])
    log = node.output()
    for message in ("skipping depth", "skipping camera_info", "depth encoding 'rgb8' is not supported",
                    "step 63 is shorter than a 32-pixel 16UC1 row", "image data has", "is empty",
                    "exceeds the limit", "positive finite focal lengths",
                    "up to 5 finite coefficients", "k4-k6 are not supported", "model 'equidistant' is not supported",
                    "has no image size", "has no valid pixels", "is not registered",
                    "camera_info is for 640x480 images"):
        assert message in log, f"{message!r} not logged:\n{log[-3000:]}"
    # Throttled: one report per kind of problem and period (5 s), not one per message.
    assert log.count("skipping depth") + log.count("skipping camera_info") < rejected / 5
    assert "Traceback" not in log and node.process.poll() is None
