"""Launch tracker_node on a camera topic (optionally with RViz).

Arguments (empty: the parameter file decides):
  image           image topic (raw sensor_msgs/Image; with compressed:=true its /compressed sub-topic)
  params_file     parameter file (default: the package's config/tracker.yaml)
  namespace       namespace of the node and its topics (tracks, tracks/image, label_info)
  detector        detector.backend: ultralytics (YOLO, detector_model), motion (weight-free, fixed cameras
                  only) or external (track another detector's detections topic)
  detector_model  detector.model: YOLO weights (.pt, .onnx, .engine)
  reid            reid.backend: torch, onnx (reid_model), histogram (weight-free) or none
  reid_model      reid.model: ReID weights file or torch architecture
  device          detector.device and reid.device: auto, cpu, cuda or cuda:N
  compressed      true: subscribe sensor_msgs/CompressedImage on <image>/compressed
  autostart       true: configure and activate at once; false: wait unconfigured for a lifecycle manager
  rviz            true: also start rviz2 with the package's config/tracker.rviz

Example (a robot with a YOLO model on its GPU):
  ros2 launch deepsort_ros tracker.launch.py image:=/camera/color/image_raw detector:=ultralytics \
      detector_model:=/models/yolo11n.pt device:=cuda:0 rviz:=true
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

# Launch argument -> the tracker_node parameters it sets, only when given (empty: the parameter file's value).
OVERRIDES = {
    "detector": ["detector.backend"],
    "detector_model": ["detector.model"],
    "reid": ["reid.backend"],
    "reid_model": ["reid.model"],
    "device": ["detector.device", "reid.device"],
}


def _tracker_node(context):
    image = LaunchConfiguration("image")
    overrides = {}
    for argument, names in OVERRIDES.items():
        value = LaunchConfiguration(argument).perform(context)
        if value:
            overrides.update(dict.fromkeys(names, value))
    compressed = LaunchConfiguration("compressed").perform(context).lower() in ("true", "1")
    overrides["image_transport"] = "compressed" if compressed else "raw"
    overrides["autostart"] = LaunchConfiguration("autostart").perform(context).lower() in ("true", "1")
    return [Node(
        package="deepsort_ros",
        executable="tracker_node",
        name="tracker_node",
        namespace=LaunchConfiguration("namespace"),
        parameters=[LaunchConfiguration("params_file"), overrides],
        remappings=[("image", image), ("image/compressed", [image, "/compressed"])],
        output="screen",
    )]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("image", default_value="/camera/image_raw", description="Image topic"),
        DeclareLaunchArgument(
            "params_file", description="tracker_node parameter file",
            default_value=PathJoinSubstitution([FindPackageShare("deepsort_ros"), "config", "tracker.yaml"])),
        DeclareLaunchArgument("namespace", default_value="", description="Namespace of the node and its topics"),
        DeclareLaunchArgument("detector", default_value="",
                              description="ultralytics | motion (fixed cameras only) | external; empty: params_file"),
        DeclareLaunchArgument("detector_model", default_value="", description="YOLO weights; empty: params_file"),
        DeclareLaunchArgument("reid", default_value="", description="torch | onnx | histogram | none; empty: params_file"),
        DeclareLaunchArgument("reid_model", default_value="", description="ReID weights; empty: params_file"),
        DeclareLaunchArgument("device", default_value="", description="auto, cpu, cuda or cuda:N; empty: params_file"),
        DeclareLaunchArgument("compressed", default_value="false",
                              description="Subscribe <image>/compressed (sensor_msgs/CompressedImage)"),
        DeclareLaunchArgument("autostart", default_value="true",
                              description="Configure and activate at once; false: leave it to a lifecycle manager"),
        DeclareLaunchArgument("rviz", default_value="false", description="Start rviz2 with config/tracker.rviz"),
        OpaqueFunction(function=_tracker_node),
        Node(
            package="rviz2",
            executable="rviz2",
            name="rviz2",
            namespace=LaunchConfiguration("namespace"),
            arguments=["-d", PathJoinSubstitution([FindPackageShare("deepsort_ros"), "config", "tracker.rviz"])],
            condition=IfCondition(LaunchConfiguration("rviz")),
            output="screen",
        ),
    ])
