"""gunicorn settings for the benchmark (``gunicorn -c bench/gunicorn.conf.py``).

Workers are synchronous processes (the request path is CPU-bound Python); their number
comes from BENCH_GUNICORN_WORKERS (default 4, as the README's production example).
"""
import os

pythonpath = os.path.dirname(os.path.abspath(__file__))
wsgi_app = "wsgi:app"
bind = os.environ.get("BENCH_BIND", "127.0.0.1:5078")
workers = int(os.environ.get("BENCH_GUNICORN_WORKERS", "4"))
worker_class = "sync"
backlog = 2048
timeout = 60
accesslog = None
loglevel = "warning"


def on_starting(server) -> None:
    """Migrate, deploy and seed once in the master, before workers fork."""
    import sys
    sys.path.insert(0, pythonpath)
    from common import prepare_database
    from engine.config import load_settings
    prepare_database(load_settings().database_url)
