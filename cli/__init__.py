"""The `rollout` command line: the edge a state team touches to check plans and run rollouts."""
