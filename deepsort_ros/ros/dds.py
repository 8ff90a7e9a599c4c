"""DDS stays on this machine: the environment of every ROS process this package starts by itself."""
from __future__ import annotations

import os
import random


def isolate_dds() -> None:
    """Loopback-only discovery on a domain of its own (an outer ``ROS_DOMAIN_ID`` wins).

    ROS reads these when a context is initialised, so call this before ``rclpy.init``; child processes
    started afterwards inherit them.
    """
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ["ROS_LOCALHOST_ONLY"] = "1"
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(1, 101)))
