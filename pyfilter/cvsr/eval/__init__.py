"""Evaluation: metrics, held-out runs of models against bicubic, reports."""
