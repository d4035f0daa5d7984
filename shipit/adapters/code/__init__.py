"""The code phase's strategies: how a release's code reaches the cluster (see `port.py`)."""
