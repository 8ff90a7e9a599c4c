"""``deepsort-tune``: choose tracker settings by coordinate descent on the mean HOTA of MOT sequences.

Usage::

    deepsort-tune SEQ_DIR [SEQ_DIR ...] --search KEY=V1,V2[,...] [--search ...] [--validate SEQ_DIR ...]
                  [--as-defaults] [--rounds N] [--min-gain G]
                  [--features NPY | --appearance BACKEND] [--colour-weight W] [--frames [NAME=]PATH ...]
                  [--config KEY=VALUE ...]

Each sequence is prepared once as ``deepsort-eval`` runs it (appearance loaded or computed from the frames, the
appearance's tracker preset); then only the tracker runs for each candidate. Starting from the settings
``deepsort-eval`` would use (``--config`` over each sequence's preset over the TrackerConfig defaults), every
round takes the ``--search`` settings one at a time, scores each of its values with the others held, and keeps
the value with the highest mean HOTA over the SEQ_DIRs when it gains more than ``--min-gain``. It stops after a
round without a move, or after ``--rounds``. ``--validate`` sequences are scored at the start and at the chosen
settings and never take part in choosing.

Searched values act as ``--config`` does (over the presets). With ``--as-defaults`` they stand for new
TrackerConfig defaults instead: a sequence whose appearance preset sets a setting keeps the preset's value. That
is how this project chose its defaults, with motion-only sequences on the motion-only preset.

stderr gets a progress bar per round and a line per move; stdout the table of the SEQ_DIRs at the chosen settings
(and of the ``--validate`` sequences at the start and at the chosen settings), then, as its last line, one JSON
object ``{"settings": {KEY: VALUE}, "start_mean_HOTA", "mean_HOTA", "moves": [{KEY, VALUE, mean_HOTA}],
"evaluations", "sequences": {NAME: {HOTA, DetA, AssA, MOTA, IDF1, IDSW, ms_per_frame}}, "mean": {...},
"validation": {"start": {"sequences", "mean"}, "chosen": {...}}}`` (``settings``: the moved settings only;
``validation`` only with ``--validate``).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from deepsort_ros.core import TrackerConfig
from deepsort_ros.tools import eval as deepsort_eval
from deepsort_ros.tools import mot
from deepsort_ros.tools.overrides import parse_overrides, parse_value


@dataclass(frozen=True)
class PreparedSequence:
    """A sequence ready to track again and again: its appearance, computed once."""

    seq_dir: Path
    name: str
    source: str                     # deepsort-eval's appearance source (``none``, ``features:PATH``, a backend)
    preset: dict                    # tracker settings the appearance brings
    features: np.ndarray | None     # per det.txt row; None: motion alone


def prepare(seq_dirs: list[Path], args) -> list[PreparedSequence]:
    """Each sequence's appearance as ``deepsort-eval`` would use it (:func:`deepsort_eval.prepare_appearance`).

    Raises
    ------
    ValueError
        When a sequence is given twice or its appearance cannot be prepared.
    """
    prepared, names = [], set()
    for seq_dir in seq_dirs:
        name = mot.read_seqinfo(seq_dir).name
        if name in names:
            raise ValueError(f"sequence {name} is given twice")
        names.add(name)
        source, preset, features = deepsort_eval.prepare_appearance(seq_dir, args)
        prepared.append(PreparedSequence(seq_dir, name, source, preset, features))
    return prepared


def parse_search(items: list[str], base: dict | None = None) -> dict[str, list[Any]]:
    """``KEY=V1,V2,...`` items as ``{KEY: [values]}``, every value checked against TrackerConfig with the
    ``base`` settings (``--config``).

    Raises
    ------
    ValueError
        When an item is malformed, a key is given twice, or a value is not allowed for its setting.
    """
    search: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        texts = [text for text in values.split(",") if text.strip()]
        if not sep or not key or not texts:
            raise ValueError(f"--search {item!r}: expected KEY=V1,V2,...")
        if key in search:
            raise ValueError(f"--search {key} is given twice")
        parsed = []
        for text in texts:
            value = parse_value(text)
            TrackerConfig.from_dict({**(base or {}), key: value})   # unknown keys, bad values raise, naming them
            if value not in parsed:
                parsed.append(value)
        search[key] = parsed
    return search


class MeanHota:
    """Scores searched settings by the mean HOTA of prepared sequences, remembering every evaluation.

    Parameters
    ----------
    sequences : list of PreparedSequence
    base : dict
        Settings given with ``--config``: over every preset, never searched over.
    as_defaults : bool
        Searched settings stand for TrackerConfig defaults (under each sequence's preset) instead of overrides.
    """

    def __init__(self, sequences: list[PreparedSequence], base: dict, as_defaults: bool):
        self.sequences, self.base, self.as_defaults = sequences, dict(base), as_defaults
        self._summaries: dict[tuple, dict[str, dict]] = {}

    def config(self, sequence: PreparedSequence, searched: dict) -> TrackerConfig:
        """The tracker settings ``sequence`` runs with under ``searched``."""
        if self.as_defaults:
            return TrackerConfig.from_dict({**searched, **sequence.preset, **self.base})
        return TrackerConfig.from_dict({**sequence.preset, **self.base, **searched})

    def summaries(self, searched: dict) -> dict[str, dict]:
        """``{NAME: summary}`` (deepsort-eval's fields) of every sequence under ``searched``."""
        key = tuple(sorted(searched.items()))
        if key not in self._summaries:
            self._summaries[key] = {
                sequence.name: deepsort_eval.summarise(deepsort_eval.evaluate_sequence(
                    sequence.seq_dir, self.config(sequence, searched), sequence.features, progress=False)[0])
                for sequence in self.sequences}
        return self._summaries[key]

    def __call__(self, searched: dict) -> float:
        return float(np.mean([summary["HOTA"] for summary in self.summaries(searched).values()]))

    @property
    def evaluations(self) -> int:
        """Distinct settings scored so far."""
        return len(self._summaries)

    def start_value(self, key: str) -> Any | None:
        """A value of ``key`` that scores exactly as the start does (so it is not scored again), or None when
        there is none: without ``as_defaults`` a preset setting ``key`` makes every searched value count."""
        if not self.as_defaults and any(key in sequence.preset for sequence in self.sequences):
            return None
        return self.base.get(key, getattr(TrackerConfig(), key))


def coordinate_descent(objective: Callable[[dict], float], search: dict[str, list[Any]], rounds: int,
                       min_gain: float, start_value: Callable[[str], Any] = lambda key: None,
                       on_move: Callable[[str, Any, float], None] = lambda key, value, score: None,
                       progress: bool = False) -> tuple[dict, float, list[dict]]:
    """Maximise ``objective(settings)`` over the ``search`` grid, one setting at a time.

    Parameters
    ----------
    objective : callable
        Score of a settings dict (the searched settings that moved; ``{}`` is the start).
    search : dict
        Candidate values per setting, tried in the order given (ties keep the earlier value).
    rounds : int
        Passes over the settings at most; a pass without a move ends the search earlier.
    min_gain : float
        A move must raise the score by more than this.
    start_value : callable
        A setting's value at the start (scoring it again would repeat the start), or None when unknown.
    on_move : callable
        Called as ``on_move(key, value, score)`` after each move.
    progress : bool
        Show a tqdm bar per round on stderr.

    Returns
    -------
    settings : dict
        The settings that moved, with their chosen values.
    score : float
        ``objective(settings)``.
    moves : list of dict
        ``{"setting", "value", "mean_HOTA"}`` per move, in order.
    """
    from tqdm import tqdm

    settings: dict = {}
    best = objective(settings)
    moves: list[dict] = []
    for round_number in range(1, rounds + 1):
        moved = False
        with tqdm(total=sum(map(len, search.values())), desc=f"round {round_number}", unit="setting",
                  disable=not progress, file=sys.stderr) as bar:
            for key, values in search.items():
                current = settings[key] if key in settings else start_value(key)
                scored = []
                for value in values:
                    if value != current:
                        scored.append((objective({**settings, key: value}), value))
                    bar.update()
                if not scored:
                    continue
                score, value = max(scored, key=lambda pair: pair[0])    # the first of equal scores
                if score > best + min_gain:
                    settings, best, moved = {**settings, key: value}, score, True
                    moves.append({"setting": key, "value": value, "mean_HOTA": round(score, 3)})
                    on_move(key, value, score)
        if not moved:
            break
    return settings, best, moves


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepsort-tune",
        description="Choose tracker settings by coordinate descent on the mean HOTA of MOT sequences, each "
                    "tracked as deepsort-eval tracks it. The last stdout line is a JSON summary.",
        epilog="Example: deepsort-tune data/mot/PETS09-S2L1 data/mot/Venice-2 --search n_init=2,3,4,5 "
               "--search max_cosine_distance=0.14,0.18,0.22 --validate data/mot/TUD-Campus")
    parser.add_argument("seq_dirs", nargs="+", metavar="SEQ_DIR",
                        help="MOT sequence folders to choose by (seqinfo.ini, gt/gt.txt, det/det.txt)")
    parser.add_argument("--search", action="append", required=True, metavar="KEY=V1,V2,...",
                        help="a tracker setting and the values to try (repeatable), e.g. --search n_init=2,3,4")
    parser.add_argument("--validate", nargs="+", default=[], metavar="SEQ_DIR",
                        help="sequences scored at the start and at the chosen settings, never used to choose")
    parser.add_argument("--as-defaults", action="store_true",
                        help="searched values stand for TrackerConfig defaults: a sequence whose appearance "
                             "preset sets a setting keeps the preset's value (default: they act as --config)")
    parser.add_argument("--rounds", type=int, default=3, metavar="N",
                        help="passes over the searched settings at most (default 3)")
    parser.add_argument("--min-gain", type=float, default=0.05, metavar="G",
                        help="mean HOTA a move must gain, in points (default 0.05)")
    deepsort_eval.add_tracking_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    return parser


def _table(objective: MeanHota, settings: dict) -> tuple[str, dict]:
    rows = objective.summaries(settings)
    mean = deepsort_eval.mean_summary(list(rows.values()))
    sources = {sequence.name: sequence.source for sequence in objective.sequences}
    return deepsort_eval.format_table(rows, mean, sources), {"sequences": rows, "mean": mean}


def _tune(args) -> dict:
    seq_dirs, validate_dirs = [Path(d) for d in args.seq_dirs], [Path(d) for d in args.validate]
    if args.rounds < 1:
        raise ValueError(f"--rounds {args.rounds}: must be at least 1")
    if args.min_gain < 0:
        raise ValueError(f"--min-gain {args.min_gain:g}: must be >= 0")
    deepsort_eval.check_tracking_arguments(args, seq_dirs + validate_dirs)
    base = parse_overrides(args.config)
    TrackerConfig.from_dict(base)
    search = parse_search(args.search, base)
    if set(base) & set(search):
        raise ValueError(f"{sorted(set(base) & set(search))} given with both --config and --search")
    tuning = MeanHota(prepare(seq_dirs, args), base, args.as_defaults)
    validation = MeanHota(prepare(validate_dirs, args), base, args.as_defaults) if validate_dirs else None
    if validation is not None and {s.name for s in tuning.sequences} & {s.name for s in validation.sequences}:
        raise ValueError("a --validate sequence is also a tuning SEQ_DIR")

    start = tuning({})
    print(f"start: mean HOTA {start:.3f}", file=sys.stderr)

    def report_move(key, value, score):
        print(f"{key}={value!r}: mean HOTA {score:.3f}", file=sys.stderr)

    settings, best, moves = coordinate_descent(tuning, search, args.rounds, args.min_gain, tuning.start_value,
                                               report_move, progress=not args.no_progress)
    table, chosen = _table(tuning, settings)
    print(f"chosen settings {json.dumps(settings)} (start: mean HOTA {start:.3f})\n{table}")
    summary = {"settings": settings, "start_mean_HOTA": round(start, 3), "mean_HOTA": round(best, 3),
               "moves": moves, "evaluations": tuning.evaluations, **chosen}
    if validation is not None:
        before_table, before = _table(validation, {})
        after_table, after = _table(validation, settings)
        print(f"validation at the start\n{before_table}\nvalidation at the chosen settings\n{after_table}")
        summary["validation"] = {"start": before, "chosen": after}
    return summary


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        summary = _tune(args)
    except ValueError as error:
        print(f"deepsort-tune: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
