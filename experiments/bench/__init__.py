"""`svsim bench`: speed and memory of a full-area run in fresh processes (bench), against an
idiomatic per-agent Mesa implementation of the same rules (reference_mesa)."""
