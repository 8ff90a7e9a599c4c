"""MOTChallenge files (seqinfo.ini, gt.txt, det.txt, results) and TrackEval scoring.

Box columns in MOT files are ``left, top, width, height`` in pixels with frames numbered from 1; everything
this module returns uses ``(x1, y1, x2, y2)`` boxes so it can be handed straight to the tracker.
"""
from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from deepsort_ros.core.linear_assignment import iou_matrix

# Result rows: frame,id,left,top,width,height,score and three unused -1 columns (world coordinates).
MOT_FORMAT = "%d,%d,%.2f,%.2f,%.2f,%.2f,%.4f,-1,-1,-1"
# The same with the world columns x, y, z filled (metres; -1 where unknown).
WORLD_FORMAT = "%d,%d,%.2f,%.2f,%.2f,%.2f,%.4f,%.4f,%.4f,%.4f"
# A tracker box that overlaps a not-considered ('consider = 0') person at least this much is not scored.
DISTRACTOR_IOU = 0.5


@dataclass(frozen=True)
class SeqInfo:
    """The ``[Sequence]`` section of a MOTChallenge ``seqinfo.ini``."""

    name: str
    frame_rate: float
    seq_length: int
    width: int
    height: int
    im_dir: str = "img1"


@dataclass(frozen=True)
class MotRows:
    """Rows of a MOT text file, sorted by frame.

    Attributes
    ----------
    frames : (N,) int64
    ids : (N,) int64 (``-1`` for detections)
    boxes_xyxy : (N, 4) float64
    scores : (N,) float64; the 7th column (detection score, or the 'consider' flag of ground truth)
    order : (N,) int64 row index in the file, so per-row side data (features) can follow the sort
    """

    frames: np.ndarray
    ids: np.ndarray
    boxes_xyxy: np.ndarray
    scores: np.ndarray
    order: np.ndarray

    def __len__(self) -> int:
        return len(self.frames)

    def frame_slices(self, seq_length: int) -> np.ndarray:
        """(seq_length + 2,) start offsets: rows of frame f are ``[starts[f], starts[f + 1])``."""
        return np.searchsorted(self.frames, np.arange(seq_length + 2), side="left")


def match_to_ground_truth(gt: MotRows, results: MotRows, seq_length: int) -> np.ndarray:
    """(len(results),) ground-truth id each row of ``results`` (tracker boxes or detections) covers (IoU >= 0.5,
    one-to-one per frame), or -1."""
    matched = np.full(len(results), -1, dtype=np.int64)
    gt_starts, res_starts = gt.frame_slices(seq_length), results.frame_slices(seq_length)
    for frame in range(1, seq_length + 1):
        g0, g1 = gt_starts[frame], gt_starts[frame + 1]
        r0, r1 = res_starts[frame], res_starts[frame + 1]
        if g0 == g1 or r0 == r1:
            continue
        iou = iou_matrix(gt.boxes_xyxy[g0:g1], results.boxes_xyxy[r0:r1])
        rows, cols = linear_sum_assignment(-iou)
        good = iou[rows, cols] >= 0.5
        matched[r0 + cols[good]] = gt.ids[g0:g1][rows[good]]
    return matched


def read_seqinfo(seq_dir: str | Path) -> SeqInfo:
    """Read ``SEQ_DIR/seqinfo.ini``; a missing file or field raises ValueError naming it."""
    path = Path(seq_dir) / "seqinfo.ini"
    if not path.is_file():
        raise ValueError(f"{path} not found: a MOT sequence folder needs seqinfo.ini, gt/gt.txt and det/det.txt")
    parser = configparser.ConfigParser()
    parser.read(path)
    if "Sequence" not in parser:
        raise ValueError(f"{path} has no [Sequence] section")
    section = parser["Sequence"]
    try:
        return SeqInfo(
            name=section.get("name", Path(seq_dir).name),
            frame_rate=float(section.get("frameRate", "30")),
            seq_length=int(section["seqLength"]),
            width=int(section.get("imWidth", "0")),
            height=int(section.get("imHeight", "0")),
            im_dir=section.get("imDir", "img1"),
        )
    except KeyError as error:
        raise ValueError(f"{path} lacks {error.args[0]}") from None


def read_mot_rows(path: str | Path) -> MotRows:
    """Read a MOT text file (gt.txt, det.txt or results) into :class:`MotRows`.

    Raises
    ------
    ValueError
        When the file is missing or a row has fewer than 6 columns.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} not found")
    table = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64)
    if table.size == 0:
        table = np.zeros((0, 7))
    if table.shape[1] < 6:
        raise ValueError(f"{path}: MOT rows need at least 6 columns (frame,id,left,top,width,height), "
                         f"found {table.shape[1]}")
    order = np.argsort(table[:, 0], kind="stable")
    table = table[order]
    boxes = table[:, 2:6].copy()
    boxes[:, 2:] += boxes[:, :2]
    scores = table[:, 6] if table.shape[1] > 6 else np.ones(len(table))
    return MotRows(frames=table[:, 0].astype(np.int64), ids=table[:, 1].astype(np.int64),
                   boxes_xyxy=boxes, scores=scores.copy(), order=order.astype(np.int64))


def load_features(path: str | Path, n_rows: int) -> np.ndarray:
    """Load a per-detection-row feature matrix (``.npy``) as float32, as embedders deliver features, and
    check it has one row per detection."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"features file {path} not found")
    features = np.load(path)
    if features.ndim != 2 or features.shape[0] != n_rows:
        raise ValueError(f"features {path} have shape {features.shape}; expected ({n_rows}, D), one row per "
                         f"det.txt row")
    return features.astype(np.float32, copy=False)


def results_table(frames, ids: np.ndarray, boxes_xyxy: np.ndarray, scores: np.ndarray,
                  world: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """MOTChallenge result rows and their ``np.savetxt`` format: ``frame,id,left,top,width,height,score``, then
    the world columns from ``world`` (N, 3) metres (non-finite rows as -1), or -1, -1, -1 without it."""
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    table = np.column_stack([np.broadcast_to(np.asarray(frames, dtype=np.float64), len(boxes)),
                             np.asarray(ids, dtype=np.float64), boxes[:, :2], boxes[:, 2:] - boxes[:, :2],
                             np.asarray(scores, dtype=np.float64)])
    if world is None:
        return table, MOT_FORMAT
    world = np.asarray(world, dtype=np.float64).reshape(-1, 3)
    return np.column_stack([table, np.where(np.isfinite(world), world, -1.0)]), WORLD_FORMAT


def write_results(path: str | Path, frames: np.ndarray, ids: np.ndarray, boxes_xyxy: np.ndarray,
                  scores: np.ndarray, world: np.ndarray | None = None) -> None:
    """Write tracks as MOTChallenge results (see :func:`results_table`)."""
    table, fmt = results_table(frames, ids, boxes_xyxy, scores, world)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, table, fmt=fmt)


def _relabel(per_frame_ids: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    """Map ids to 0..K-1 as TrackEval's metrics expect."""
    all_ids = np.unique(np.concatenate(per_frame_ids)) if per_frame_ids else np.zeros(0, np.int64)
    return [np.searchsorted(all_ids, ids).astype(np.int64) for ids in per_frame_ids], len(all_ids)


def build_trackeval_data(gt: MotRows, results: MotRows, seq_length: int, name: str = "seq") -> dict:
    """Per-frame ids and IoU similarities in TrackEval's sequence format, with 'consider = 0' removed.

    Follows MOTChallenge's preprocessing: in each frame tracker boxes and all ground-truth boxes are matched
    one-to-one (Hungarian, IoU >= 0.5); tracker boxes matched to a not-considered person are dropped, then the
    not-considered ground-truth rows are dropped.
    """
    gt_starts = gt.frame_slices(seq_length)
    res_starts = results.frame_slices(seq_length)
    gt_ids, tracker_ids, similarities = [], [], []
    eps = np.finfo(np.float64).eps
    for frame in range(1, seq_length + 1):
        g = slice(gt_starts[frame], gt_starts[frame + 1])
        r = slice(res_starts[frame], res_starts[frame + 1])
        similarity = iou_matrix(gt.boxes_xyxy[g], results.boxes_xyxy[r])
        considered = gt.scores[g] != 0
        keep_tracker = np.ones(similarity.shape[1], dtype=bool)
        if not considered.all() and similarity.size:
            matching = np.where(similarity >= DISTRACTOR_IOU - eps, similarity, 0.0)
            rows, cols = linear_sum_assignment(-matching)
            matched = matching[rows, cols] > eps
            keep_tracker[cols[matched & ~considered[rows]]] = False
        gt_ids.append(gt.ids[g][considered])
        tracker_ids.append(results.ids[r][keep_tracker])
        similarities.append(similarity[np.ix_(considered, keep_tracker)])
    gt_ids, num_gt_ids = _relabel(gt_ids)
    tracker_ids, num_tracker_ids = _relabel(tracker_ids)
    return {
        "seq": name, "num_timesteps": seq_length,
        "num_gt_ids": num_gt_ids, "num_tracker_ids": num_tracker_ids,
        "num_gt_dets": int(sum(len(ids) for ids in gt_ids)),
        "num_tracker_dets": int(sum(len(ids) for ids in tracker_ids)),
        "gt_ids": gt_ids, "tracker_ids": tracker_ids, "similarity_scores": similarities,
    }


def evaluate(gt: MotRows, results: MotRows, seq_length: int, name: str = "seq") -> dict:
    """Score results against ground truth with TrackEval's HOTA, CLEAR and Identity metrics.

    Returns
    -------
    dict
        ``HOTA, DetA, AssA, LocA, MOTA, MOTP, IDF1, IDP, IDR`` in percent and the counts ``IDSW, FP, FN,
        Frag, MT, ML, gt_ids, tracker_ids``.
    """
    from trackeval.metrics import CLEAR, HOTA, Identity

    data = build_trackeval_data(gt, results, seq_length, name)
    hota = HOTA().eval_sequence(data)
    clear = CLEAR({"PRINT_CONFIG": False}).eval_sequence(data)
    identity = Identity({"PRINT_CONFIG": False}).eval_sequence(data)
    percent = lambda value: round(float(np.mean(value)) * 100.0, 3)  # noqa: E731 (HOTA fields are per-alpha arrays)
    return {
        "HOTA": percent(hota["HOTA"]), "DetA": percent(hota["DetA"]), "AssA": percent(hota["AssA"]),
        "LocA": percent(hota["LocA"]),
        "MOTA": percent(clear["MOTA"]), "MOTP": percent(clear["MOTP"]),
        "IDF1": percent(identity["IDF1"]), "IDP": percent(identity["IDP"]), "IDR": percent(identity["IDR"]),
        "IDSW": int(clear["IDSW"]), "FP": int(clear["CLR_FP"]), "FN": int(clear["CLR_FN"]),
        "Frag": int(clear["Frag"]), "MT": int(clear["MT"]), "ML": int(clear["ML"]),
        "gt_ids": int(data["num_gt_ids"]), "tracker_ids": int(data["num_tracker_ids"]),
    }
