"""ament_python build of deepsort_ros; pip-only dependencies are declared as extras."""
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "deepsort_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml") + glob("config/*.xml") + glob("config/*.rviz")),
    ],
    python_requires=">=3.10",
    install_requires=["numpy", "scipy", "setuptools"],
    extras_require={
        # Detection and ReID on a GPU or CPU; robots install these with pip beside apt's ROS 2, whose numpy and
        # OpenCV (python3-opencv, what cv_bridge is built with) stay: see the README's robot section.
        "perception": ["torch", "torchvision", "ultralytics"],
        "onnx": ["onnx", "onnxruntime"],
        # Offline evaluation, benchmarks and bag processing.
        "tools": ["trackeval", "tqdm", "matplotlib", "rosbags"],
        "test": ["pytest"],
    },
    zip_safe=True,
    maintainer="deepsort_ros maintainers",
    maintainer_email="maintainers@deepsort-ros.dev",
    description="DeepSORT multi-object tracking for ROS 2 with GPU detection and ReID.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "tracker_node = deepsort_ros.ros.node:main",
            "video_publisher = deepsort_ros.ros.video_publisher:main",
            "deepsort-track = deepsort_ros.tools.track:main",
            "deepsort-eval = deepsort_ros.tools.eval:main",
            "deepsort-tune = deepsort_ros.tools.tune:main",
            "deepsort-bench = deepsort_ros.tools.bench:main",
            "deepsort-export-onnx = deepsort_ros.perception.export_onnx:main",
        ],
    },
)
