"""`svsim optimise` (issue 19): the decision and its constraints (mix), options derived from the
area and the library (options), fitted cost-response curves (curves), the best mix on the curves
(allocate), screening and confirmation on disjoint replicates (search), the model as the evaluator
in chunked stages (evaluate), the efficient frontier (frontier), and the job (job)."""
