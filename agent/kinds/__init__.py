"""Agent kinds: one registry (name -> builder), the hybrid agent, baselines and oracles."""
