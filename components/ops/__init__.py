"""Ops library behind scripts/capacity.py, refresh_catalog.py, upload_weights.py and bench_upload.py (cloud SDK edge)."""
