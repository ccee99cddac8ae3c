"""PostgreSQL side of the engine: migrations, the event store, its projections, the outbox and
PD bookings. Everything here talks to the database through asyncpg with bound parameters."""
