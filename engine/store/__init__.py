"""The SQL truth: models, sessions, migrations, public references. Importing the package
puts every table on ``Base.metadata`` (the migrations' check compares against it)."""
from engine.store import models, registries  # noqa: F401
