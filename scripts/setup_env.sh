#!/usr/bin/env bash
# Creates the project's venv from nothing: ROS 2 Kilted wheels, vision_msgs built from
# interfaces/vision_msgs, the Python dependencies, this package (editable), and Debian's opencv-doc
# for the demo video. Usage: setup_env.sh VENV
set -euo pipefail
venv=$1
root=$(cd "$(dirname "$0")/.." && pwd)

if [ ! -f /usr/share/doc/opencv-doc/examples/data/vtest.avi ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian's opencv-doc (demo video vtest.avi)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq opencv-doc >/dev/null) \
      || echo "setup: warning: opencv-doc could not be installed; demo and video tests will skip"
  else
    echo "setup: warning: opencv-doc not installed and apt-get unavailable; demo and video tests will skip"
  fi
fi

# pip warns once per package about index locations this machine's pip configuration names but lacks.
pip_install() {
  "$venv/bin/python" -m pip install -q "$@" 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
}

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
pip_install --upgrade pip
echo "setup: installing Python packages into $venv (first run takes a few minutes)"
pip_install -r "$root/requirements.txt"
pip_install --no-deps -e "$root"
# colcon must not mistake the venv's contents for packages of a workspace this checkout sits in.
touch "$venv/COLCON_IGNORE"

if ! "$venv/bin/python" -c 'import vision_msgs.msg' 2>/dev/null; then
  echo "setup: building vision_msgs into $venv"
  bash "$root/scripts/build_vision_msgs.sh" "$venv"
fi
"$venv/bin/python" -c 'import rclpy, vision_msgs.msg, torch, ultralytics, cv2, trackeval'
echo "setup: done"
