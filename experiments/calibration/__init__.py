"""`svsim calibrate` and `svsim validate`: the rows marked fit or held out (targets), history
matching with Gaussian-process emulators (history), its waves as chunked Hydra jobs (calibrate),
and every row on the plausible set with fresh seeds (validate)."""
