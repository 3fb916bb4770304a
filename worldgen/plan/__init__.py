"""The planner: prompt -> semantic plan (LLM or rules) -> solver -> scene spec."""
