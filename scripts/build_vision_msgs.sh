#!/usr/bin/env bash
# Builds the vision_msgs interface package kept in interfaces/vision_msgs into a Python venv that holds the
# ROS 2 wheels, so the venv works as a ROS prefix with vision_msgs in it. Usage: build_vision_msgs.sh VENV
set -euo pipefail
venv=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../interfaces/vision_msgs" && pwd)
py="$venv/bin/python"

# The wheels' exported CMake files name the wheel builder's Python and numpy include directories; point
# them at this interpreter's, or CMake rejects the imported targets as naming missing paths.
py_include=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
np_include=$("$py" -c 'import numpy; print(numpy.get_include())')
grep -rlE '/opt/python/cp[0-9]+-cp[0-9]+' "$venv/share" --include='*.cmake' | while read -r f; do
  sed -i -E \
    -e "s#/opt/python/cp[0-9]+-cp[0-9]+/lib/python[0-9.]+/site-packages/numpy/_core/include#${np_include}#g" \
    -e "s#/opt/python/cp[0-9]+-cp[0-9]+/include/python[0-9.]+#${py_include}#g" "$f"
done

build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
export AMENT_PREFIX_PATH="$venv" CMAKE_PREFIX_PATH="$venv" PATH="$venv/bin:$PATH"
cmake -S "$src" -B "$build" -DCMAKE_INSTALL_PREFIX="$venv" -DPython3_EXECUTABLE="$py" \
  -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release >"$build/configure.log" 2>&1 \
  || { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j "$(nproc)" >"$build/build.log" 2>&1 || { tail -50 "$build/build.log"; exit 1; }
cmake --install "$build" >/dev/null
