-- Run once by the postgres image on an empty data volume (docker-entrypoint-initdb.d):
-- the hub store and the warehouse get their own databases, apart from Prefect's
-- (POSTGRES_DB, `prefect`): Prefect's tables and the hub's never share a schema.
CREATE DATABASE crossdock_hub;
CREATE DATABASE crossdock_warehouse;
