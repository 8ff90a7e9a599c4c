"""tracker_node and video_publisher refuse bad configurations with one clear line, exit code 1, no traceback."""
import subprocess

import pytest

# (arguments, text the error line must contain)
BAD_STARTS = [
    (["-p", "tracker.max_age:=-3"], "tracker.max_age=-3 is outside the allowed range"),
    (["-p", "tracker.min_score:=1"], "tracker.min_score=1 must be a double"),
    (["-p", "detector.backend:=yolo"], "detector.backend='yolo' is not one of"),
    (["-p", "tracker.high_score:=0.05"], "min_score"),
    (["-p", "detector.motion.histroy:=5"], "unknown parameter(s) detector.motion.histroy"),
    (["-p", "detector.classes:=[1,2]"], "detector.classes=[1, 2] must be a list of strings"),
    (["-p", "detector.backend:=ultralytics"], "missing required key 'model'"),
    (["-p", "detector.backend:=ultralytics", "-p", "detector.model:=/nonexistent/yolo.pt"], "/nonexistent/yolo.pt"),
    (["-p", "reid.backend:=onnx", "-p", "reid.model:=/nonexistent/reid.onnx"], "/nonexistent/reid.onnx"),
    (["--params-file", "/nonexistent/params.yaml"], "/nonexistent/params.yaml not found"),
    # CORRUPT.* stand for files of junk bytes made by the fixture.
    (["-p", "detector.backend:=ultralytics", "-p", "detector.model:=CORRUPT.pt"], "cannot load model file"),
    (["-p", "reid.backend:=onnx", "-p", "reid.model:=CORRUPT.onnx"], "cannot load model file"),
    (["-p", "reid.backend:=torch", "-p", "reid.model:=CORRUPT.pt"], "CORRUPT.pt"),
]


@pytest.fixture(scope="module")
def bad_starts(ros_env, tmp_path_factory):
    """Every bad start at once (they are independent), as (arguments, expected text, exit code, output)."""
    junk = tmp_path_factory.mktemp("corrupt")
    for name in ("CORRUPT.pt", "CORRUPT.onnx"):
        (junk / name).write_bytes(b"\x80\x02 not a model " * 64)
    processes = []
    for args, text in BAD_STARTS:
        args = [arg.replace("CORRUPT", str(junk / "CORRUPT")) for arg in args]
        processes.append((args, text, subprocess.Popen(["tracker_node", "--ros-args", *args], env=ros_env,
                                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
    results = []
    for args, text, process in processes:
        output, _ = process.communicate(timeout=120)
        results.append((args, text, process.returncode, output))
    return results


@pytest.mark.parametrize("case", range(len(BAD_STARTS)), ids=[" ".join(args) for args, _ in BAD_STARTS])
def test_bad_start_gives_one_error_line_and_exit_code_1(bad_starts, case):
    args, text, code, output = bad_starts[case]
    lines = [line for line in output.splitlines() if line.strip()]
    assert code == 1, output
    assert len(lines) == 1, output
    assert "cannot start" in lines[0] and text in lines[0], lines[0]
    assert "Traceback" not in output


@pytest.mark.parametrize("args,text", [([], "no source"), (["/nonexistent/video.mp4"], "input not found")])
def test_video_publisher_without_a_source_fails_cleanly(ros_env, args, text):
    result = subprocess.run(["video_publisher", *args], env=ros_env, capture_output=True, text=True, timeout=60)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode == 1 and len(lines) == 1 and text in lines[0], lines
