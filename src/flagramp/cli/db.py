"""`flagramp db upgrade`: bring the database to the newest schema."""

from __future__ import annotations

from flagramp.cli.commands import App
from flagramp.cli.connect import open_database
from flagramp.cli.output import console, user_errors
from flagramp.store.database import current_revision, upgrade

db_app = App(help="The database: migrations.")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Run migrations up to the newest (they also run on first use)."""
    with user_errors():
        engine = open_database(migrate=False)
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    url = engine.url.render_as_string(hide_password=True)
    if before == after:
        console.print(f"{url}: already at {after}")
    else:
        console.print(f"{url}: upgraded {before or 'empty'} → {after}")
