"""A real Kubernetes control plane (upstream kube-apiserver, controllers, scheduler, etcd) under the test suite."""
