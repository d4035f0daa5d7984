pytest_plugins = ["tests.integration.integrations.services", "tests.integration.integrations.prometheus"]
