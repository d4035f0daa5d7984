"""kubesim: an in-memory Kubernetes API server, controllers and kubelet for tests (issue 3). See README.md."""
