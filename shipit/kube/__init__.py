"""shipit's Kubernetes layer: the API client, pod verdicts, the migration Job, rollouts, the release lock and records.

Importing this package is cheap; the `kubernetes` client is imported inside the functions that talk to the cluster.
"""
