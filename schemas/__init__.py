"""The normalized model: entities, tables, migrations, published schemas."""
