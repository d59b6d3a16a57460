"""The fault suite: real processes in network namespaces.

Run by bench/bench_faults.py (full size) and tests/e2e/test_fault_suite.py (CI size).
"""
