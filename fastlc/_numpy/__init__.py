"""The ``numpy`` backend: the vectorized array code people usually write.

It is the baseline the compiled backends are measured against, so it is
written the ordinary way (one array expression per step), not tuned.
"""
