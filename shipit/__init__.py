"""shipit: staged releases for Rails on Kubernetes with MySQL."""

__version__ = "0.1.0"
