"""`svsim compare`: funding scenarios x replicates, paired against a comparator (compare), and
the self-contained HTML report of its run folder (report)."""
