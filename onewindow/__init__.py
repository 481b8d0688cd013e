"""The composition root and the run modes, above api/ and worker/ (which never import each
other): ``wiring.py`` turns settings into the engine's services (database, sources, work
queue); ``cli.py`` is the ``onewindow`` command (serve, worker, deploy, users…)."""
