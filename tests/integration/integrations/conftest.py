pytest_plugins = ["tests.integration.integrations.services"]
