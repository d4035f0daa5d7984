"""What shipit knows about the database: connections, migration state, preflight data checks, DDL watch, health."""
