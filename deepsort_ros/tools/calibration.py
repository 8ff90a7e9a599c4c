"""Tsai camera calibrations (PETS 2009 ``View_*.xml``) -> the node's spatial inputs.

Tsai's model (R. Willson's calibration code, which the PETS files follow; world in millimetres)::

    R = Rz(rz) Ry(ry) Rx(rx);  Pc = R Pw + T
    Xu = focal * xc / zc,  Yu = focal * yc / zc                 (undistorted sensor coordinates, mm)
    Xu = Xd (1 + kappa1 (Xd^2 + Yd^2)),  same for Y             (radial distortion, on *distorted* coords)
    u = Xd * sx / dpx + cx,  v = Yd / dpy + cy                   (pixels, 0-based)

ROS's ``plumb_bob`` model maps the other way (undistorted -> distorted, a polynomial in the *undistorted*
radius), so kappa1 has no exact plumb_bob equivalent. :func:`camera_from_tsai` fits plumb_bob ``k1, k2, k3``
to Tsai's mapping by least squares over the whole image and reports the largest pixel error of the fit
(about 1e-3 px for PETS09 View_001). The camera matrix is exact: ``fx = focal * sx / dpx``, ``fy = focal /
dpy``. Tsai's camera frame is the optical frame (x right, y down, z forward), so the camera pose in the
world (= ground) frame is ``R^T`` and ``-R^T T`` (in metres).

``python -m deepsort_ros.tools.calibration View_001.xml`` prints a tracker_node parameter snippet (YAML) with
the camera pose and, with ``--camera-info FILE``, writes the intrinsics as a camera_info YAML
(camera_calibration_parsers' format, as camera drivers load it).
"""
from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepsort_ros.core.camera_geometry import CameraModel, CameraPose, rotation_from_rpy

# Grid of pixels the plumb_bob fit runs over (per axis).
FIT_GRID = 40


@dataclass(frozen=True)
class TsaiCalibration:
    """The numbers of a Tsai calibration file (lengths in millimetres, angles in radians)."""

    width: int
    height: int
    dpx: float
    dpy: float
    focal: float
    kappa1: float
    cx: float
    cy: float
    sx: float
    translation_mm: np.ndarray
    rotation: np.ndarray
    name: str = ""

    def project(self, world_m: np.ndarray) -> np.ndarray:
        """World points (N, 3) in metres -> pixels (N, 2) with Tsai's own model (the reference)."""
        pc = (np.asarray(world_m, dtype=np.float64).reshape(-1, 3) * 1000.0) @ self.rotation.T + self.translation_mm
        xu = self.focal * pc[:, 0] / pc[:, 2]
        yu = self.focal * pc[:, 1] / pc[:, 2]
        # Solve ru = rd (1 + kappa1 rd^2) for rd by Newton's method, then scale both coordinates.
        ru = np.hypot(xu, yu)
        rd = ru.copy()
        for _ in range(20):
            rd -= (rd * (1.0 + self.kappa1 * rd * rd) - ru) / (1.0 + 3.0 * self.kappa1 * rd * rd)
        ratio = np.divide(rd, ru, out=np.ones_like(ru), where=ru > 0)
        return np.column_stack([xu * ratio * self.sx / self.dpx + self.cx, yu * ratio / self.dpy + self.cy])


def read_tsai(path: str | Path) -> TsaiCalibration:
    """Read a PETS-style Tsai calibration XML (``Geometry``, ``Intrinsic``, ``Extrinsic`` elements).

    Raises
    ------
    ValueError
        When the file is missing or lacks an element or attribute.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"calibration file {path} not found")
    try:
        root = ElementTree.parse(path).getroot()
        geometry, intrinsic, extrinsic = (root.find(tag).attrib for tag in ("Geometry", "Intrinsic", "Extrinsic"))
        rotation = rotation_from_rpy(float(extrinsic["rx"]), float(extrinsic["ry"]), float(extrinsic["rz"]))
        return TsaiCalibration(
            width=int(geometry["width"]), height=int(geometry["height"]), dpx=float(geometry["dpx"]),
            dpy=float(geometry["dpy"]), focal=float(intrinsic["focal"]), kappa1=float(intrinsic["kappa1"]),
            cx=float(intrinsic["cx"]), cy=float(intrinsic["cy"]), sx=float(intrinsic["sx"]),
            translation_mm=np.array([float(extrinsic[k]) for k in ("tx", "ty", "tz")]), rotation=rotation,
            name=root.get("name", path.stem))
    except (ElementTree.ParseError, AttributeError, KeyError, ValueError) as error:
        raise ValueError(f"{path} is not a Tsai calibration file: {error}") from None


def camera_from_tsai(calibration: TsaiCalibration) -> tuple[CameraModel, CameraPose, float]:
    """The plumb_bob camera model and world pose equivalent to a Tsai calibration.

    Returns
    -------
    camera : CameraModel
        Exact camera matrix, plumb_bob ``k1, k2, 0, 0, k3`` fitted to Tsai's distortion.
    pose : CameraPose
        The optical frame in the calibration's world frame (metres; the ground is z = 0).
    fit_error_px : float
        Largest distance between Tsai's and the fitted model's pixels over the image.
    """
    c = calibration
    fx, fy = c.focal * c.sx / c.dpx, c.focal / c.dpy
    u, v = np.meshgrid(np.linspace(0, c.width - 1, FIT_GRID), np.linspace(0, c.height - 1, FIT_GRID))
    xd, yd = (u.ravel() - c.cx) / fx, (v.ravel() - c.cy) / fy
    # Tsai: undistorted = distorted * (1 + kappa1 rd^2), rd in sensor millimetres (= focal * normalised).
    factor = 1.0 + c.kappa1 * c.focal ** 2 * (xd * xd + yd * yd)
    xu, yu = xd * factor, yd * factor
    ru2 = xu * xu + yu * yu
    # plumb_bob: distorted = undistorted * (1 + k1 ru^2 + k2 ru^4 + k3 ru^6).
    design = np.column_stack([ru2, ru2 ** 2, ru2 ** 3])
    k1, k2, k3 = np.linalg.lstsq(design, 1.0 / factor - 1.0, rcond=None)[0]
    camera = CameraModel.create([[fx, 0.0, c.cx], [0.0, fy, c.cy], [0.0, 0.0, 1.0]], [k1, k2, 0.0, 0.0, k3],
                                c.width, c.height)
    fitted = camera.project(np.column_stack([xu, yu, np.ones_like(xu)]))
    fit_error = float(np.max(np.hypot(fitted[:, 0] - u.ravel(), fitted[:, 1] - v.ravel())))
    pose = CameraPose(rotation=c.rotation.T, position=-c.rotation.T @ c.translation_mm / 1000.0)
    return camera, pose, fit_error


def spatial_settings(pose: CameraPose) -> dict[str, float]:
    """The ``spatial.camera_*`` settings (SpatialConfig fields) of a camera pose."""
    roll, pitch, yaw = pose.body_rpy()
    x, y, z = pose.position.tolist()
    return {"camera_x": x, "camera_y": y, "camera_z": z, "camera_roll": roll, "camera_pitch": pitch,
            "camera_yaw": yaw}


def parameters_yaml(calibration: TsaiCalibration, pose: CameraPose, ground_frame: str = "world") -> str:
    """A tracker_node parameter file snippet for ground_plane mode with this camera."""
    lines = [f"# From Tsai calibration {calibration.name} (deepsort_ros.tools.calibration)",
             "tracker_node:", "  ros__parameters:", "    spatial.mode: ground_plane",
             f"    spatial.ground_frame: {ground_frame}"]
    lines += [f"    spatial.{name}: {value:.6f}" for name, value in spatial_settings(pose).items()]
    return "\n".join(lines) + "\n"


def camera_info_yaml(camera: CameraModel, name: str) -> str:
    """The intrinsics in camera_calibration_parsers' YAML format (what camera drivers load)."""
    k = camera.k
    p = np.column_stack([k, np.zeros(3)])

    def matrix(rows: int, cols: int, data) -> str:
        values = ", ".join(f"{value:.10g}" for value in np.asarray(data, dtype=np.float64).ravel())
        return f"\n  rows: {rows}\n  cols: {cols}\n  data: [{values}]"

    return (f"image_width: {camera.width}\nimage_height: {camera.height}\ncamera_name: {name}\n"
            f"camera_matrix:{matrix(3, 3, k)}\ndistortion_model: plumb_bob\n"
            f"distortion_coefficients:{matrix(1, 5, camera.distortion)}\n"
            f"rectification_matrix:{matrix(3, 3, np.eye(3))}\nprojection_matrix:{matrix(3, 4, p)}\n")


def read_camera_info_yaml(path: str | Path) -> CameraModel:
    """The camera of a camera_info YAML file (camera_calibration_parsers' format, as :func:`camera_info_yaml`
    writes and camera drivers load).

    Raises
    ------
    ValueError
        When the file is missing or malformed, or its distortion model is not plumb_bob.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"camera_info file {path} not found")
    try:
        data = yaml.safe_load(path.read_text())
        model = data.get("distortion_model", "plumb_bob")
        distortion = data.get("distortion_coefficients", {}).get("data", [])
        if model != "plumb_bob" and any(distortion):
            raise ValueError(f"distortion model {model!r} is not supported (plumb_bob)")
        return CameraModel.create(data["camera_matrix"]["data"], distortion, data["image_width"], data["image_height"])
    except (yaml.YAMLError, AttributeError, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path} is not a usable camera_info YAML: {error}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deepsort_ros.tools.calibration",
                                     description="Convert a Tsai calibration (PETS 2009 View_*.xml) into "
                                                 "tracker_node spatial parameters (stdout) and a camera_info YAML.")
    parser.add_argument("calibration", help="Tsai calibration XML")
    parser.add_argument("--ground-frame", default="world", help="name of the calibration's world frame")
    parser.add_argument("--camera-info", type=Path, metavar="YAML", help="also write the intrinsics here")
    args = parser.parse_args(argv)
    try:
        calibration = read_tsai(args.calibration)
    except ValueError as error:
        print(f"calibration: {error}", file=sys.stderr)
        return 2
    camera, pose, fit_error = camera_from_tsai(calibration)
    print(parameters_yaml(calibration, pose, args.ground_frame), end="")
    print(f"# plumb_bob fit of Tsai's kappa1: largest error {fit_error:.2g} px over the image", file=sys.stderr)
    if args.camera_info:
        args.camera_info.write_text(camera_info_yaml(camera, calibration.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
