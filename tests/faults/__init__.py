"""Fault injection (issue 7, areas 1-3): a worker killed with SIGKILL, the Temporal server
restarted, PostgreSQL stopped, each mid-rollout on real servers and real processes.

`bash scripts/test tests/faults` runs them (about ten minutes); the figures each test proved are
printed under "faults survived" at the end of the run and kept in test-artifacts/faults.json.
A worker-crash run is repeated with ROLLOUT_FAULT_SEED=<the seed it printed>.
"""
