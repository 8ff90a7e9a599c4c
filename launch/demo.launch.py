"""Demo: video_publisher replays a video into tracker_node (weight-free defaults: no GPU, no model files).

Arguments:
  video        video file, image folder or camera index (default: PETS09-S2L1 from Debian's opencv-doc)
  rate         frames per second to publish (0: the video's own rate)
  loop         start the video again at its end
  params_file  tracker_node parameter file (default: the package's config/tracker.yaml)
  device       where the networks run: auto, cpu, cuda or cuda:N

Watch the result with e.g. `ros2 run rqt_image_view rqt_image_view /tracks/image`.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

IMAGE_TOPIC = "camera/image_raw"
# tracker_node's image queue and video_publisher's history, as deepsort_ros/ros/demo.py (make demo) sets them.
DEMO_QUEUE_DEPTH = 30


def generate_launch_description():
    device = ParameterValue(LaunchConfiguration("device"), value_type=str)
    return LaunchDescription([
        DeclareLaunchArgument("video", default_value="/usr/share/doc/opencv-doc/examples/data/vtest.avi",
                              description="Video file, image folder or camera index"),
        DeclareLaunchArgument("rate", default_value="0.0", description="Frames per second (0: the video's)"),
        DeclareLaunchArgument("loop", default_value="true", description="Loop the video"),
        DeclareLaunchArgument(
            "params_file", description="tracker_node parameter file",
            default_value=PathJoinSubstitution([FindPackageShare("deepsort_ros"), "config", "tracker.yaml"])),
        DeclareLaunchArgument("device", default_value="auto", description="auto, cpu, cuda or cuda:N"),
        Node(
            package="deepsort_ros",
            executable="video_publisher",
            name="video_publisher",
            parameters=[{"source": ParameterValue(LaunchConfiguration("video"), value_type=str),
                         "rate": ParameterValue(LaunchConfiguration("rate"), value_type=float),
                         "loop": ParameterValue(LaunchConfiguration("loop"), value_type=bool),
                         "frame_id": "camera", "qos.depth": DEMO_QUEUE_DEPTH}],
            remappings=[("image", IMAGE_TOPIC)],
            output="screen",
        ),
        Node(
            package="deepsort_ros",
            executable="tracker_node",
            name="tracker_node",
            # Reliable: full-size frames from a local publisher arrive whole even on a busy machine (best-effort
            # samples lose fragments under load). A queue of 30 frames keeps every frame while the node's
            # executor waits for the CPU; the node still works on the newest frame only and counts the rest
            # as dropped.
            parameters=[LaunchConfiguration("params_file"),
                        {"detector.device": device, "reid.device": device, "qos.reliability": "reliable",
                         "qos.depth": DEMO_QUEUE_DEPTH}],
            remappings=[("image", IMAGE_TOPIC)],
            output="screen",
        ),
    ])
