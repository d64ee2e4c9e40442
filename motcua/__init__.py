"""motcua: planner for Vietnam's one-stop Public Administration Service Centers."""

__version__ = "0.1.0"
