"""Records every stage exchanges: frozen dataclasses with units in field names."""

from standoff.domain.detections import DetectionBatch, ScanFootprint
from standoff.domain.tracks import TrackBatch

__all__ = ["DetectionBatch", "ScanFootprint", "TrackBatch"]
