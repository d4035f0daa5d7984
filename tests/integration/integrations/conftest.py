from tests.integration.integrations.prometheus import metrics_app, prometheus  # noqa: F401  (fixtures)
from tests.integration.integrations.services import services  # noqa: F401  (fixture)
