"""The release's I/O: records, lease, database, cluster, gates and git revert behind the orchestrator's ports."""
