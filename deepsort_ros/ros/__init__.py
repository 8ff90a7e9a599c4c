"""ROS 2 layer: the tracker node, message conversions, parameters, the video publisher and the demo."""
