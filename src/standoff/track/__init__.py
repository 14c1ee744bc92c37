"""Detections -> tracks: a batched IMM multi-target tracker with injected components.

Stream use::

    tracker = Tracker(config=TrackerConfig(pd=0.9, clutter_density_per_m2=1e-8))
    for batch in batches:            # DetectionBatch, one scan each, in time order
        tracks = tracker.step(batch)  # TrackBatch of confirmed, reported tracks

File use: :func:`track_file`.
"""

from standoff.track.association import (
    Association,
    Associator,
    GNNAssociator,
    HybridAssociator,
    JPDAAssociator,
)
from standoff.track.fileio import DetectionFile, TrackSummary, read_detections, track_file
from standoff.track.gating import Gater, KDTreeGater
from standoff.track.management import (
    Deleter,
    ExistenceDeleter,
    Initiator,
    SinglePointInitiator,
)
from standoff.track.models import Mode, ModeSet, MotionModel, default_modes
from standoff.track.tracker import TrackBatch, Tracker, TrackerConfig

__all__ = [
    "Association",
    "Associator",
    "Deleter",
    "DetectionFile",
    "ExistenceDeleter",
    "GNNAssociator",
    "Gater",
    "HybridAssociator",
    "Initiator",
    "JPDAAssociator",
    "KDTreeGater",
    "Mode",
    "ModeSet",
    "MotionModel",
    "SinglePointInitiator",
    "TrackBatch",
    "TrackSummary",
    "Tracker",
    "TrackerConfig",
    "default_modes",
    "read_detections",
    "track_file",
]
