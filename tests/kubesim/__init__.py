"""kubesim: an in-memory Kubernetes API server, controllers and kubelet for tests. See README.md."""
