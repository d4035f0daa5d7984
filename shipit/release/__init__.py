"""The staged release: phases, gates, and the orchestrator that runs them and reverts on failure."""
