"""`svsim optimise` (issue 19), its search core: the decision and its constraints (mix), fitted
cost-response curves (curves), the best mix on the curves (allocate), screening and confirmation
on disjoint replicates (search), and the efficient frontier (frontier)."""
