"""The smallest valid configuration texts the config tests edit: BASE takes its password from the environment,
MINIMAL has none."""

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
MINIMAL = BASE.replace("mysql://shop:${DB_PW}@db:3306/shop", "mysql://root@127.0.0.1:3306/shop")
