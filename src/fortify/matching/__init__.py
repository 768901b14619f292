"""Scores in false-match terms: calibration tables, thresholds for a target FPIR, fusion."""
