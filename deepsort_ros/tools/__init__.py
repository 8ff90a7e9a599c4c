"""Offline tools: deepsort-track, deepsort-eval, deepsort-bench and MOT file handling (the demo is in ros/)."""
import os

# The tracker's matrix products are small (tracks x detections); OpenBLAS threads cost more to wake than
# they save, and on a busy 2-core machine they made a 200-object update 3x slower. Only takes effect when
# numpy is not imported yet (the console entry points); an explicit setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
