"""The edge of svsim: the `svsim` command and its jobs, one subpackage per family of jobs.

Shared by several jobs, at this level: cli (the command), config (Hydra configuration validated
into typed objects), runfolder (complete-or-absent result folders), chunks (chunked execution,
local or SLURM) and run (one simulation). The families: compare/, calibration/, analysis/,
workshop/ and bench/.
"""
