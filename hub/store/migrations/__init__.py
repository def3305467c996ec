"""The hub store's schema history (Alembic): env.py and one file per revision in versions/.

Run through hub/store/schema.py (`crossdock upgrade`), not the `alembic` command: there is no
alembic.ini, the store's URL and engine come from the hub.
"""
