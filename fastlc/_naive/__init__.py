"""The ``naive`` backend: plain Python loops over elements.

These loops are the readable reference every other backend is tested
against, and the floor of the benchmarks. They favour clarity over speed.
"""
