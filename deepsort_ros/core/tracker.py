"""The DeepSORT tracker: Kalman prediction, staged association, track life cycle."""
from __future__ import annotations

import math

import numpy as np

from .config import TrackerConfig
from .kalman_filter import KalmanFilter, measurement_to_xyxy, xyxy_to_measurement
from .linear_assignment import iou_matrix, matching_cascade, min_cost_matching
from .nn_matching import AppearanceMemory, normalise_rows, row_norms
from .track import Tracks, TrackState, TrackStore

# Any finite fused cost may match; gated pairs are inf.
_FINITE_COST = 1e9
# Step counts are sums of rounded (elapsed seconds x kalman_fps) steps; compare them with this slack.
_STEP_TOLERANCE = 1e-3
# Plain ints: comparing arrays against IntEnum members goes through slow enum attribute lookups.
_TENTATIVE, _CONFIRMED, _COASTING = int(TrackState.TENTATIVE), int(TrackState.CONFIRMED), int(TrackState.COASTING)


# ``mask.all()`` and ``mask.any()`` for bool arrays: np.count_nonzero is one C call, several times cheaper than
# the Python-level wrappers behind ndarray.all/any on the tiny arrays of a frame.
def _all(mask: np.ndarray) -> bool:
    return np.count_nonzero(mask) == mask.size


def _any(mask: np.ndarray) -> bool:
    return np.count_nonzero(mask) > 0


class Tracker:
    """Multi-object tracker over detection boxes, optionally with appearance features.

    Parameters
    ----------
    config : TrackerConfig, optional
        Validated on construction; defaults to ``TrackerConfig()``.

    Notes
    -----
    Input policy: malformed input is rejected, never silently repaired. :meth:`update` raises ValueError
    naming the problem for wrong shapes or lengths, NaN or infinite values, boxes with non-positive width or
    height, a malformed ``warp``, features whose dimension differs from earlier frames' and timestamps that do
    not increase. Detections scoring below
    ``config.min_score`` are valid input and simply ignored.
    """

    def __init__(self, config: TrackerConfig | None = None):
        self.config = (config if config is not None else TrackerConfig()).validate()
        cfg = self.config
        self.kalman = KalmanFilter(cfg.state_space, cfg.std_weight_position, cfg.std_weight_velocity,
                                   cfg.confidence_scaled_noise, cfg.std_weight_measurement)
        self.store = TrackStore()
        self.appearance = AppearanceMemory(cfg.appearance_update, cfg.ema_alpha, cfg.gallery_budget)
        self._last_timestamp: float | None = None
        self._step = 1.0                       # Kalman steps of the frame being processed
        # Every track's covariance is blockwise (see kalman_filter): true until a warp mixes x and y.
        self._blockwise = True
        # The class gate is skipped until two detections have had different classes (single-class input).
        self._first_class: int | None = None
        self._class_gate = False

    # ------------------------------------------------------------------ public
    def update(self, boxes_xyxy, scores, features=None, classes=None, timestamp=None, warp=None) -> Tracks:
        """Advance all tracks by one frame and associate this frame's detections.

        Parameters
        ----------
        boxes_xyxy : (N, 4) array_like
            Detection corners in pixels; N = 0 is fine.
        scores : (N,) array_like
            Detection confidences.
        features : (N, D) array_like, optional
            Appearance vectors of any dimension D (normalised here); None tracks by motion alone.
        classes : (N,) array_like of int, optional
            Class per detection (default all 0); tracks never match detections of another class.
        timestamp : float, optional
            Seconds. The Kalman filter then advances by the elapsed time (``config.kalman_fps`` steps per
            second), so dropped frames and other camera rates predict as far as people really moved, and a
            lost track dies after ``config.max_age_s`` seconds instead of ``config.max_age`` frames, checked
            before matching: after a gap in the input longer than that, no old track is matched again. The other
            per-frame settings (``ema_alpha``, ``iou_stage_max_misses``, ``report_coasting_frames``) then
            count those steps too, so a 25 Hz camera tracks like a 7 Hz one instead of forgetting appearance
            and giving up on missed tracks 3.5 times sooner. ``n_init`` still counts matches: detections
            flicker per frame, so a tentative period in seconds would rarely survive at high rates. Without
            timestamps every call is one step.
        warp : (2, 3) array_like, optional
            Affine image motion of the camera from the previous frame to this one, applied to every
            predicted track.

        Returns
        -------
        Tracks
            The tracks to report this frame (see the ``report_*`` and ``output_box`` settings).

        Raises
        ------
        ValueError
            For malformed input (see the class notes).
        """
        boxes, scores, features, classes, warp = self._check_inputs(boxes_xyxy, scores, features, classes, warp)
        known_dim = self.appearance.dim
        if features is not None and len(features) and known_dim is not None and features.shape[1] != known_dim:
            # Checked before any state changes, so a rejected frame leaves the tracker as it was.
            raise ValueError(f"features have dimension {features.shape[1]}, earlier frames had {known_dim}")
        dt = self._advance_clock(timestamp)
        self._note_classes(classes)
        cfg, kalman = self.config, self.kalman
        if timestamp is not None and cfg.max_age_s > 0:
            # Tracks expire by elapsed time before matching: after a gap in the input (a paused bag, a camera
            # dropout) longer than max_age_s no track comes back, however far its prediction went. Every
            # surviving track was seen within max_age_s, so that also caps how far any track is predicted.
            self._expire(timestamp)
            dt = min(dt, round(cfg.max_age_s * cfg.kalman_fps, 6))
        self._step = dt
        store = self.store
        if len(store):
            store.mean, store.covariance = kalman.predict(store.mean, store.covariance, dt)
            store.steps_since += dt
            if warp is not None:
                store.mean, store.covariance = kalman.warp(store.mean, store.covariance, warp)
                self._blockwise = self._blockwise and kalman.keeps_blocks(warp)
        else:
            self._blockwise = True             # new tracks start blockwise

        usable = scores >= cfg.min_score
        if not _all(usable):
            boxes, scores, classes = boxes[usable], scores[usable], classes[usable]
            features = features[usable] if features is not None else None
        high = scores >= cfg.high_score
        measurements = xyxy_to_measurement(boxes, cfg.state_space)
        det_track = np.full(len(boxes), -1, np.int64)      # matched track row per detection
        track_free = np.ones(len(store), dtype=bool)       # tracks no detection matched
        if len(store) and len(boxes):
            self._associate(boxes, measurements, features, classes, high, det_track, track_free)

        matched = det_track >= 0
        matched_rows = det_track[matched]
        self._update_matched(matched_rows, measurements[matched], scores[matched], boxes[matched], timestamp)
        if features is not None and len(matched_rows):
            # Only confident detections teach appearance: a low-score match (stage 3) is often a partly
            # occluded or misplaced box whose crop shows someone else. Measured on the three tuning sequences
            # with features it makes no difference (mean HOTA 40.60 against 40.62 when they also teach), so
            # the safer rule is kept.
            learn = matched & high & self._unoccluded(boxes)
            # The average forgets ema_alpha per reference frame, however fast the camera runs.
            self.appearance.update(det_track[learn], features[learn], cfg.ema_alpha ** dt)
        self._age_unmatched(track_free, timestamp)
        new = (~matched & high).nonzero()[0]
        if len(new):
            self._start_tracks(measurements[new], scores[new], classes[new], boxes[new],
                               features[new] if features is not None else None, timestamp)
        return self._report()

    def set_config(self, config: TrackerConfig) -> TrackerConfig:
        """Use ``config`` from the next :meth:`update` on, keeping every track.

        Raises
        ------
        ValueError
            When a value is invalid, or a setting copied into the Kalman filter or appearance memory when the
            tracker was built (``build_time``, e.g. ``state_space``) would change: that needs a new Tracker.
        """
        config.validate()
        old, new = self.config.to_dict(), config.to_dict()
        fixed = [field["name"] for field in TrackerConfig.field_specs()
                 if field["build_time"] and new[field["name"]] != old[field["name"]]]
        if fixed:
            raise ValueError(f"tracker setting(s) {', '.join(fixed)} are fixed once the tracker is built")
        # Every other setting is read from self.config on each update.
        self.config = config
        return config

    def reset(self) -> None:
        """Forget every track and the clock; ids continue where they were (the next confirmed track gets the
        next id, never one used before)."""
        next_id, next_key = self.store.next_id, self.store.next_key
        self.store = TrackStore()
        self.store.next_id, self.store.next_key = next_id, next_key
        cfg = self.config
        self.appearance = AppearanceMemory(cfg.appearance_update, cfg.ema_alpha, cfg.gallery_budget)
        self._last_timestamp = None
        self._blockwise = True
        self._first_class, self._class_gate = None, False

    # ------------------------------------------------------------ association
    def _associate(self, boxes, measurements, features, classes, high, det_track, track_free) -> None:
        """Fill ``det_track`` and clear ``track_free`` through the three stages: fused/cascade, IoU, low-score
        IoU."""
        cfg, store = self.config, self.store
        confirmed = store.states != _TENTATIVE

        # Stage 1: confirmed tracks against confident detections on appearance + motion.
        # (``mask.nonzero()[0]`` rather than np.flatnonzero: same indices without the ravel wrapper.)
        rows, cols = confirmed.nonzero()[0], high.nonzero()[0]
        if len(rows) and len(cols):
            cost = self._fused_cost(rows, cols, measurements, boxes, features, classes)
            if cfg.matching == "cascade":
                # Age in steps missed before this frame (reference frames with timestamps), as everywhere else.
                missed = np.rint(store.steps_since[rows] - self._step).astype(np.int64)
                r, c = matching_cascade(cost, _FINITE_COST, missed)
            else:
                r, c = min_cost_matching(cost, _FINITE_COST)
            det_track[cols[c]] = rows[r]
            track_free[rows[r]] = False

        # Stages 2 and 3 match what is left by IoU; most frames leave no detection and skip both.
        leftover = (high & (det_track < 0)).nonzero()[0]
        low = (~high).nonzero()[0] if cfg.low_score_stage else []
        if not len(leftover) and not len(low):
            return
        predicted = measurement_to_xyxy(store.mean, cfg.state_space)

        # Stage 2: IoU for tentative and just-missed tracks against what is left of the confident detections.
        if len(leftover):
            # steps_since already includes this frame's step; before it, a track matched last frame missed none.
            recent = store.steps_since - self._step <= cfg.iou_stage_max_misses + _STEP_TOLERANCE
            rows = (track_free & (~confirmed | recent)).nonzero()[0]
            self._iou_stage(rows, leftover, predicted, boxes, classes, cfg.max_iou_distance, det_track, track_free)

        # Stage 3 (ByteTrack): low-score detections can only continue confirmed tracks.
        if len(low):
            rows = (track_free & confirmed).nonzero()[0]
            self._iou_stage(rows, low, predicted, boxes, classes, cfg.low_score_max_iou_distance, det_track,
                            track_free)

    def _class_mismatch(self, rows, cols, classes) -> np.ndarray | None:
        """(len(rows), len(cols)) True where the classes of tracks ``rows`` and detections ``cols`` differ;
        None while the class gate is off (every detection so far had one class)."""
        if not self._class_gate:
            return None
        return self.store.classes[rows][:, None] != classes[cols][None, :]

    def _note_classes(self, classes) -> None:
        """Turn the class gate on once two detections, in this frame or across frames, differ in class."""
        if self._class_gate or not len(classes):
            return
        if self._first_class is None:
            self._first_class = int(classes[0])
        self._class_gate = _any(classes != self._first_class)

    def _fused_cost(self, rows, cols, measurements, boxes, features, classes) -> np.ndarray:
        """(len(rows), len(cols)) gated cost: appearance and motion blended, inf where forbidden."""
        cfg, store = self.config, self.store
        squared_mahalanobis = self.kalman.gating_distance(store.mean[rows], store.covariance[rows],
                                                          measurements[cols], self._blockwise)
        forbidden = squared_mahalanobis > cfg.gating_threshold
        mismatch = self._class_mismatch(rows, cols, classes)
        if mismatch is not None:
            forbidden |= mismatch
        # Motion alone (no features this frame, or a track without any yet) may only join overlapping boxes:
        # the Mahalanobis gate widens with every step a track coasts, and its distance shrinks with the
        # uncertainty, so a lost track would gate, and win, a newcomer's detection across the image and hop
        # from person to person while the newcomer's tentative track starves. Appearance is what may bridge
        # a gap.
        blind = None if features is None else self.appearance.counts[rows] == 0
        iou_cost = None
        if cfg.motion_cost == "iou" or blind is None or _any(blind):
            iou_cost = 1.0 - iou_matrix(measurement_to_xyxy(store.mean[rows], cfg.state_space), boxes[cols])
        motion = squared_mahalanobis / cfg.gating_threshold if cfg.motion_cost == "mahalanobis" else iou_cost
        if features is None:
            forbidden |= iou_cost > cfg.max_iou_distance
            cost = motion
        else:
            appearance = self.appearance.distance(rows, features[cols])
            forbidden |= appearance > cfg.max_cosine_distance
            if _any(blind):
                forbidden[blind] |= iou_cost[blind] > cfg.max_iou_distance
            cost = cfg.appearance_weight * appearance + (1.0 - cfg.appearance_weight) * motion
        cost[forbidden] = np.inf
        return cost

    def _iou_stage(self, rows, cols, predicted, boxes, classes, max_distance, det_track, track_free) -> None:
        if not len(rows):
            return
        cost = 1.0 - iou_matrix(predicted[rows], boxes[cols])
        mismatch = self._class_mismatch(rows, cols, classes)
        if mismatch is not None:
            cost[mismatch] = np.inf
        r, c = min_cost_matching(cost, max_distance)
        det_track[cols[c]] = rows[r]
        track_free[rows[r]] = False

    # -------------------------------------------------------------- life cycle
    def _unoccluded(self, boxes) -> np.ndarray:
        """(N,) True where a detection overlaps no other by more than ``appearance_update_max_iou``."""
        limit = self.config.appearance_update_max_iou
        if limit >= 1.0 or len(boxes) < 2:
            return np.ones(len(boxes), dtype=bool)
        overlap = iou_matrix(boxes, boxes)
        np.fill_diagonal(overlap, 0.0)
        return overlap.max(axis=1) <= limit

    def _update_matched(self, rows, measurements, scores, boxes, timestamp) -> None:
        if not len(rows):
            return
        store, cfg = self.store, self.config
        store.mean[rows], store.covariance[rows] = self.kalman.update(
            store.mean[rows], store.covariance[rows], measurements, scores, self._blockwise)
        store.steps_since[rows] = 0.0
        store.hits[rows] += 1
        store.misses[rows] = 0
        store.scores[rows] = scores
        store.det_boxes[rows] = boxes
        store.last_seen[rows] = np.nan if timestamp is None else timestamp
        confirm = (store.states[rows] == _COASTING) | (store.hits[rows] >= cfg.n_init)
        if _any(confirm):
            store.confirm(rows[confirm])

    def _expire(self, timestamp: float) -> None:
        """Delete tracks last seen more than ``max_age_s`` before ``timestamp`` (tracks last seen in a frame
        without a timestamp count frames instead, in :meth:`_age_unmatched`)."""
        store = self.store
        if len(store):
            expired = timestamp - store.last_seen > self.config.max_age_s     # nan compares False
            if _any(expired):
                self._delete(expired)

    def _age_unmatched(self, missed, timestamp) -> None:
        """Count a miss for tracks ``missed`` (a mask over the store), demote or delete them."""
        store, cfg = self.store, self.config
        if not _any(missed):
            return
        store.misses += missed
        expired = store.misses > cfg.max_age
        if timestamp is not None and cfg.max_age_s > 0:
            # Timestamped tracks expire by time (in _expire, before matching); the others count frames.
            expired &= np.isnan(store.last_seen)
        dead = missed & ((store.states == _TENTATIVE) | expired)
        # Confirmed tracks start coasting; tentative ones are dead and go below.
        store.states[missed] = _COASTING
        if _any(dead):
            self._delete(dead)

    def _delete(self, dead) -> None:
        self.store.keep(~dead)
        self.appearance.keep(~dead)

    def _start_tracks(self, measurements, scores, classes, boxes, features, timestamp) -> None:
        mean, covariance = self.kalman.initiate(measurements)
        first = len(self.store)
        self.store.append(mean, covariance, scores, classes, boxes, np.nan if timestamp is None else timestamp)
        self.appearance.append(features, len(measurements))
        if self.config.n_init <= 1:
            self.store.confirm(np.arange(first, len(self.store)))

    def _report(self) -> Tracks:
        store, cfg = self.store, self.config
        if not len(store):
            return Tracks.empty()
        states = store.states
        shown = states == _CONFIRMED           # matched this frame: a confirmed track that misses turns COASTING
        if cfg.report_coasting_frames:
            shown |= (states == _COASTING) & (store.steps_since <= cfg.report_coasting_frames + _STEP_TOLERANCE)
        if cfg.report_tentative:
            shown |= states == _TENTATIVE
        shown = shown.nonzero()[0]             # one index array for the gathers below (each makes a copy)
        boxes = measurement_to_xyxy(store.mean[shown], cfg.state_space)
        if cfg.output_box == "detection":
            fresh = store.misses[shown] == 0
            boxes[fresh] = store.det_boxes[shown[fresh]]
        return Tracks(ids=store.public_ids(shown), boxes_xyxy=boxes, scores=store.scores[shown],
                      classes=store.classes[shown], states=states[shown])

    # ------------------------------------------------------------------ input
    def _advance_clock(self, timestamp) -> float:
        """Kalman steps since the last call: 1 without timestamps, else elapsed seconds x ``kalman_fps``."""
        if timestamp is None:
            return 1.0
        timestamp = float(timestamp)
        if not math.isfinite(timestamp):
            raise ValueError(f"timestamp must be finite, got {timestamp}")
        last = self._last_timestamp
        if last is not None and timestamp <= last:
            raise ValueError(f"timestamp {timestamp} does not increase (previous {last})")
        self._last_timestamp = timestamp
        # Rounded so a steady camera gives the very same step every frame (the filter caches its matrix).
        return 1.0 if last is None else round((timestamp - last) * self.config.kalman_fps, 6)

    @staticmethod
    def _check_inputs(boxes_xyxy, scores, features, classes, warp):
        boxes = np.asarray(boxes_xyxy, dtype=np.float64)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            if boxes.size:
                raise ValueError(f"boxes_xyxy must have shape (N, 4), got {boxes.shape}")
            boxes = boxes.reshape(0, 4)
        n = len(boxes)
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != (n,):
            raise ValueError(f"scores must have shape ({n},) to match the boxes, got {scores.shape}")
        # One combined test on the common (valid) path; the slow path names the problem.
        if not (_all(np.isfinite(boxes)) and _all(np.isfinite(scores)) and _all(boxes[:, 2:] > boxes[:, :2])):
            bad = np.flatnonzero(~np.isfinite(boxes).all(axis=1)).tolist()
            if bad:
                raise ValueError(f"boxes_xyxy rows {bad} contain NaN or inf")
            bad = np.flatnonzero(~(boxes[:, 2:] > boxes[:, :2]).all(axis=1)).tolist()
            if bad:
                raise ValueError(f"boxes_xyxy rows {bad} have non-positive width or height")
            raise ValueError(f"scores rows {np.flatnonzero(~np.isfinite(scores)).tolist()} are NaN or inf")
        if classes is None:
            classes = np.zeros(n, np.int64)
        else:
            classes = np.asarray(classes)
            if classes.shape != (n,):
                raise ValueError(f"classes must have shape ({n},) to match the boxes, got {classes.shape}")
            if classes.dtype.kind not in "iub":
                raise ValueError(f"classes must be integers, got dtype {classes.dtype}")
            classes = classes.astype(np.int64, copy=False)
        if features is not None:
            features = np.asarray(features, dtype=np.float32)
            if features.ndim != 2 or len(features) != n:
                raise ValueError(f"features must have shape ({n}, D) to match the boxes, got {features.shape}")
            norms = row_norms(features)
            # A NaN or inf makes its row's norm NaN or inf: N norms are tested before N x D values.
            if not _all(np.isfinite(norms)) and not _all(np.isfinite(features)):
                raise ValueError("features contain NaN or inf")
            features = normalise_rows(features, norms)
        if warp is not None:
            warp = np.asarray(warp, dtype=np.float64)
            if warp.shape != (2, 3) or not np.isfinite(warp).all():
                raise ValueError(f"warp must be a finite (2, 3) affine, got shape {warp.shape}")
        return boxes, scores, features, classes, warp
