"""Launch tracker_node on a camera topic.

Arguments:
  image        image topic (raw sensor_msgs/Image; with compressed:=true its /compressed sub-topic)
  params_file  parameter file (default: the package's config/tracker.yaml)
  namespace    namespace of the node and its topics (tracks, tracks/image, label_info)
  device       where the networks run: auto, cpu, cuda or cuda:N
  compressed   true: subscribe sensor_msgs/CompressedImage on <image>/compressed

Example:
  ros2 launch deepsort_ros tracker.launch.py image:=/camera/color/image_raw device:=cuda:0
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    image = LaunchConfiguration("image")
    device = ParameterValue(LaunchConfiguration("device"), value_type=str)
    transport = PythonExpression(["'compressed' if '", LaunchConfiguration("compressed"),
                                  "'.lower() in ('true', '1') else 'raw'"])
    return LaunchDescription([
        DeclareLaunchArgument("image", default_value="/camera/image_raw", description="Image topic"),
        DeclareLaunchArgument(
            "params_file", description="tracker_node parameter file",
            default_value=PathJoinSubstitution([FindPackageShare("deepsort_ros"), "config", "tracker.yaml"])),
        DeclareLaunchArgument("namespace", default_value="", description="Namespace of the node and its topics"),
        DeclareLaunchArgument("device", default_value="auto", description="auto, cpu, cuda or cuda:N"),
        DeclareLaunchArgument("compressed", default_value="false",
                              description="Subscribe <image>/compressed (sensor_msgs/CompressedImage)"),
        Node(
            package="deepsort_ros",
            executable="tracker_node",
            name="tracker_node",
            namespace=LaunchConfiguration("namespace"),
            parameters=[LaunchConfiguration("params_file"),
                        {"detector.device": device, "reid.device": device,
                         "image_transport": ParameterValue(transport, value_type=str)}],
            remappings=[("image", image), ("image/compressed", [image, "/compressed"])],
            output="screen",
        ),
    ])
