"""`svsim sensitivity` and `svsim sweep`: Morris and Sobol sensitivity analysis (sensitivity) and
grid sweeps (sweep) of a scenario against its comparator, both run in chunks (../chunks.py)."""
