"""The smallest valid configuration text the config tests edit, its password taken from the environment."""

BASE = """\
app: shop
image:
  repository: reg/shop
deployments:
  - name: web
migration:
  from_deployment: web
  container: web
database:
  url: mysql://shop:${DB_PW}@db:3306/shop
"""
ENV = {"DB_PW": "plain-pass-123"}
