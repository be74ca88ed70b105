"""Searches: Zero-Cost-PT (Algorithms 1 and 2), edge orderings, DARTS, DARTS-PT and baselines."""
