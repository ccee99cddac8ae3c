"""Application services at the edge: connecting to Temporal, starting rollouts, the simulated
districts of the demo, and the demo itself."""
