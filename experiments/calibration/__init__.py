"""`svsim calibrate` and `svsim validate`: the Strategic Needs Assessment's targets (targets),
what one trial runs (trial), the Optuna fit (calibrate), which parameters the targets pin down
(identification), and a re-run of the calibrated baseline on fresh seeds (validate)."""
