"""tracker_node as a managed node, driven from another process the way a lifecycle manager does it.

One tracker-only node process (``detector.backend: external``, no appearance: detection arrays in, tracks
out, no images needed) started with ``autostart:=false``. The tests run in file order on it: every
lifecycle transition through ``change_state`` / ``get_state``, nothing published while inactive, the
``~/reset`` service, run-time parameter changes that reach the tracker, coasting tracks on ``tracks``,
stamp-0 input, bad rows, a replay that pauses, label_info updates and diagnostics. Frames go one at a
time (publish, wait for that stamp's tracks); absence is checked by order (a later frame's tracks arrive,
an earlier one's never did), never by sleeping.
"""
import os

import pytest
from diagnostic_msgs.msg import DiagnosticArray
from lifecycle_msgs.msg import State, Transition
from lifecycle_msgs.srv import ChangeState, GetState
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import Header
from std_srvs.srv import Trigger
from test_ros_node import LATCHED, TIMEOUT, NodeProcess, Probe, detection_array, key
from vision_msgs.msg import Detection2DArray, LabelInfo

WALKER = (100.0, 100.0, 30.0, 80.0)  # centre x, centre y, width, height; moves 3 px per frame


def header_at(seconds):
    header = Header(frame_id="lifecycle_camera")
    header.stamp.sec, header.stamp.nanosec = divmod(int(round(seconds * 1e9)), 10**9)
    return header


def detections_at(header, boxes, class_id="person", score=0.9):
    """Detections of centre-size ``boxes`` (cx, cy, w, h)."""
    corners = [(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2) for cx, cy, w, h in boxes]
    return detection_array(header, corners, [class_id] * len(corners), [(0.0, 0.0)] * len(corners), score)


@pytest.fixture(scope="module")
def managed(ros_env):
    namespace = f"/managed_{os.getpid()}"
    node = NodeProcess(ros_env, namespace, "-p", "autostart:=false", "-p", "detector.backend:=external",
                       "-p", "reid.backend:=none", "-p", "qos.reliability:=reliable", "-p", "qos.depth:=100",
                       "-p", "diagnostics.input_timeout_s:=0.0")
    probe = Probe(namespace)
    tracks = probe.subscribe(Detection2DArray, f"{namespace}/tracks")
    probe.subscribe(DiagnosticArray, "/diagnostics")
    publisher = probe.node.create_publisher(Detection2DArray, f"{namespace}/detections",
                                            QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
    state = {"node": node, "probe": probe, "publisher": publisher, "topic": f"{namespace}/tracks", "tracks": tracks,
             "time": 1000.0, "x": WALKER[0]}
    yield state
    node.stop()
    probe.close()


def lifecycle_state(managed):
    response = managed["probe"].call(GetState, f"{managed['node'].name}/get_state", GetState.Request())
    return response.current_state.id


def transition(managed, transition_id):
    request = ChangeState.Request(transition=Transition(id=transition_id))
    return managed["probe"].call(ChangeState, f"{managed['node'].name}/change_state", request).success


def wait_for_subscriber(managed):
    probe, publisher = managed["probe"], managed["publisher"]
    probe.wait_until(lambda: publisher.get_subscription_count() > 0, what="the node's detections subscription")


def send(managed, boxes=None, dt=0.1, wait=True):
    """Publish the walker (or ``boxes``) ``dt`` seconds after the previous frame; returns its tracks."""
    managed["time"] += dt
    if boxes is None:
        managed["x"] += 3.0
        boxes = [(managed["x"], *WALKER[1:])]
    header = header_at(managed["time"])
    managed["publisher"].publish(detections_at(header, boxes))
    return managed["probe"].wait_for_stamp(managed["topic"], header) if wait else header


def reset(managed):
    response = managed["probe"].call(Trigger, f"{managed['node'].name}/reset", Trigger.Request())
    assert response.success, response.message


def test_starts_unconfigured_without_topics(managed):
    assert lifecycle_state(managed) == State.PRIMARY_STATE_UNCONFIGURED
    probe = managed["probe"]
    assert not probe.node.get_publishers_info_by_topic(managed["topic"])
    assert managed["publisher"].get_subscription_count() == 0
    response = probe.call(Trigger, f"{managed['node'].name}/reset", Trigger.Request())
    assert not response.success and "not configured" in response.message


def test_configure_then_activate_starts_tracking_and_nothing_goes_out_while_inactive(managed):
    assert transition(managed, Transition.TRANSITION_CONFIGURE)
    assert lifecycle_state(managed) == State.PRIMARY_STATE_INACTIVE
    probe = managed["probe"]
    # Inactive: the publishers exist, but the node listens to nothing.
    # Matched, not only discovered: tracks sent before the match would be lost.
    probe.wait_until(lambda: managed["tracks"].get_publisher_count() > 0, what="the tracks publisher to match")
    assert managed["publisher"].get_subscription_count() == 0
    unseen = [send(managed, wait=False) for _ in range(3)]
    assert transition(managed, Transition.TRANSITION_ACTIVATE)
    assert lifecycle_state(managed) == State.PRIMARY_STATE_ACTIVE
    wait_for_subscriber(managed)
    tracked = [send(managed) for _ in range(5)]
    assert all(probe.message_with_stamp(managed["topic"], header) is None for header in unseen)
    # The config file's n_init for this backend pair applies: the walker is confirmed within 5 frames.
    assert len(tracked[-1].detections) == 1
    managed["id"] = tracked[-1].detections[0].id


def test_deactivate_stops_processing_but_keeps_the_tracks(managed):
    assert transition(managed, Transition.TRANSITION_DEACTIVATE)
    assert lifecycle_state(managed) == State.PRIMARY_STATE_INACTIVE
    probe = managed["probe"]
    probe.wait_until(lambda: managed["publisher"].get_subscription_count() == 0, what="the subscription to go")
    unseen = [send(managed, wait=False) for _ in range(3)]
    with probe.condition:
        count = len(probe.messages[managed["topic"]])
    assert transition(managed, Transition.TRANSITION_ACTIVATE)
    wait_for_subscriber(managed)
    msg = send(managed, dt=0.1)
    assert all(probe.message_with_stamp(managed["topic"], header) is None for header in unseen)
    with probe.condition:
        assert len(probe.messages[managed["topic"]]) == count + 1  # only the frame sent while active
    # The tracker (models included) was kept: the same track goes on.
    assert [d.id for d in msg.detections] == [managed["id"]]


def test_reset_starts_new_tracks_and_ids_continue(managed):
    reset(managed)
    results = [send(managed) for _ in range(6)]
    assert len(results[0].detections) == 0  # tentative again
    new_id = results[-1].detections[0].id
    assert int(new_id) > int(managed["id"]), (new_id, managed["id"])
    managed["id"] = new_id


def test_n_init_set_at_run_time_changes_confirmation(managed):
    probe, name = managed["probe"], managed["node"].name
    for n_init in (5, 1):
        assert probe.set_parameter(name, "tracker.n_init", n_init).successful
        reset(managed)
        results = [send(managed) for _ in range(n_init)]
        counts = [len(msg.detections) for msg in results]
        # The n_init-th match confirms the track, not one earlier.
        assert counts == [0] * (n_init - 1) + [1], (n_init, counts)


def test_max_age_s_set_at_run_time_changes_how_long_tracks_coast(managed):
    probe, name = managed["probe"], managed["node"].name
    assert probe.set_parameter(name, "tracker.report_coasting_frames", 100000).successful
    coasted = {}
    for max_age_s in (0.45, 1.45):
        assert probe.set_parameter(name, "tracker.max_age_s", max_age_s).successful
        reset(managed)
        seen = [send(managed) for _ in range(3)]
        assert len(seen[-1].detections) == 1 and seen[-1].detections[0].results[0].hypothesis.score > 0
        track_id = seen[-1].detections[0].id
        # Empty frames every 0.1 s: the track coasts on its prediction, reported with score 0.
        empty = [send(managed, boxes=[]) for _ in range(20)]
        alive = [msg for msg in empty if any(d.id == track_id for d in msg.detections)]
        assert all(d.results[0].hypothesis.score == 0.0 for msg in alive for d in msg.detections)
        coasted[max_age_s] = len(alive)
    # 0.45 s: gone after 4 empty frames; 1.45 s: 14 (no stamp difference lies on a limit).
    assert coasted == {0.45: 4, 1.45: 14}, coasted
    assert probe.set_parameter(name, "tracker.report_coasting_frames", 2).successful
    assert probe.set_parameter(name, "tracker.max_age_s", 2.9).successful


def test_a_replay_that_pauses_longer_than_max_age_s_starts_new_tracks(managed):
    reset(managed)
    before = [send(managed) for _ in range(5)][-1]
    assert len(before.detections) == 1
    old_id = before.detections[0].id
    # The bag pauses 5 s (> max_age_s 2.9) and resumes where the walker was.
    after = [send(managed, dt=5.0)] + [send(managed) for _ in range(5)]
    assert all(d.id != old_id for msg in after for d in msg.detections), [[d.id for d in m.detections] for m in after]
    assert len(after[-1].detections) == 1


def test_stamp_zero_frames_are_tracked_with_receive_time(managed):
    probe, topic = managed["probe"], managed["topic"]
    reset(managed)
    with probe.condition:
        probe.messages[topic].clear()
    for n in range(8):
        managed["x"] += 3.0
        managed["publisher"].publish(detections_at(header_at(0.0), [(managed["x"], *WALKER[1:])]))
        probe.wait(lambda: len(probe.messages[topic]) > n, what=f"tracks of stamp-0 frame {n}")
    with probe.condition:
        results = list(probe.messages[topic])
    stamps = [key(msg.header) for msg in results]
    assert all(stamp > (0, 0) for stamp in stamps) and stamps == sorted(set(stamps))
    assert len(results[-1].detections) == 1
    assert managed["node"].output().count("stamp 0 (unset)") == 1
    # Back to real stamps: receive times (now) are newer than the bag-like stamps, so restart those.
    reset(managed)


def test_a_bad_row_costs_that_row_and_is_counted(managed):
    probe, name = managed["probe"], managed["node"].name
    _, before = probe.wait_for_status(name, lambda v: True, "diagnostics")
    reset(managed)
    assert probe.set_parameter(name, "tracker.n_init", 1).successful
    good = (300.0, 100.0, 30.0, 80.0)
    for bad in ((float("nan"), 10.0, 5.0, 5.0), (50.0, 50.0, 0.0, 10.0)):
        msg = send(managed, boxes=[good, bad])
        assert len(msg.detections) == 1 and msg.detections[0].bbox.center.position.x == pytest.approx(300.0, abs=1)
    header = header_at(managed["time"] + 0.1)
    managed["time"] += 0.1
    managed["publisher"].publish(detections_at(header, [good], score=1.5))  # a score above 1
    assert len(probe.wait_for_stamp(managed["topic"], header).detections) in (0, 1)  # the track may coast
    probe.wait_for_status(name, lambda v: int(v["total_dropped_detections"]) >= int(before["total_dropped_detections"]) + 3,
                          "three dropped rows")
    assert "outside [0, 1]" in managed["node"].output()


def test_label_info_is_republished_when_a_new_class_appears(managed):
    probe = managed["probe"]
    topic = managed["topic"].rsplit("/", 1)[0] + "/label_info"
    probe.subscribe(LabelInfo, topic, LATCHED)
    probe.wait(lambda: probe.messages[topic], what="label_info")
    before = [c.class_name for c in probe.messages[topic][-1].class_map]
    assert "forklift" not in before
    managed["time"] += 0.1
    header = header_at(managed["time"])
    managed["publisher"].publish(detections_at(header, [(200.0, 150.0, 40.0, 40.0)], class_id="forklift"))
    probe.wait_for_stamp(managed["topic"], header)
    probe.wait(lambda: "forklift" in [c.class_name for c in probe.messages[topic][-1].class_map],
               what="label_info naming forklift")
    assert [c.class_name for c in probe.messages[topic][-1].class_map][:len(before)] == before


def test_cleanup_configure_again_and_shutdown_exits(managed):
    node = managed["node"]
    assert transition(managed, Transition.TRANSITION_DEACTIVATE)
    assert transition(managed, Transition.TRANSITION_CLEANUP)
    assert lifecycle_state(managed) == State.PRIMARY_STATE_UNCONFIGURED
    probe = managed["probe"]
    probe.wait_until(lambda: not probe.node.get_publishers_info_by_topic(managed["topic"]),
                     what="the tracks publisher to go")
    response = probe.call(Trigger, f"{node.name}/reset", Trigger.Request())
    assert not response.success  # models released
    assert transition(managed, Transition.TRANSITION_CONFIGURE)
    assert transition(managed, Transition.TRANSITION_ACTIVATE)
    wait_for_subscriber(managed)
    assert len(send(managed).detections) <= 1  # tracking again
    assert transition(managed, Transition.TRANSITION_ACTIVE_SHUTDOWN)
    assert node.process.wait(TIMEOUT) == 0, node.output()
    assert "Traceback" not in node.output()


def test_a_failed_configure_stays_unconfigured_and_shutdown_from_there_exits(ros_env):
    namespace = f"/unconfigurable_{os.getpid()}"
    node = NodeProcess(ros_env, namespace, "-p", "autostart:=false", "-p", "tracker.max_age:=-3")
    probe = Probe(namespace)
    state = {"node": node, "probe": probe}
    try:
        assert lifecycle_state(state) == State.PRIMARY_STATE_UNCONFIGURED
        assert not transition(state, Transition.TRANSITION_CONFIGURE)  # the bad parameter is reported, not fatal
        assert lifecycle_state(state) == State.PRIMARY_STATE_UNCONFIGURED
        probe.wait_until(lambda: "cannot configure" in node.output(), what="the configure error in the log")
        assert "tracker.max_age=-3" in node.output()
        assert transition(state, Transition.TRANSITION_UNCONFIGURED_SHUTDOWN)
        assert node.process.wait(TIMEOUT) == 0, node.output()
        assert "Traceback" not in node.output()
    finally:
        node.stop()
        probe.close()
