"""Kedro wiring: one folder per stage; nodes are thin calls into the core."""
