"""gunicorn settings for `make serve` (gunicorn reads ./gunicorn.conf.py by itself).

Every value can be overridden on the command line or, for the common ones, from the environment.
"""

import multiprocessing
import os

bind = os.environ.get("MATCHMAKER_BIND", "127.0.0.1:8000")
# Two per core: the pages are CPU-bound Python and one process waits on the database meanwhile.
workers = int(os.environ.get("WORKERS") or 2 * multiprocessing.cpu_count())
worker_class = "sync"
# Each worker builds its own app: its database pool, job runner and ranking index are made after the
# fork. Preloading would create them in the master and share a database connection across processes.
preload_app = False
# A request that takes longer is stuck (the slowest page is well under a second): kill and replace it.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Requests arriving while every worker is busy wait in the listen queue rather than being refused.
backlog = 2048
# One line per request on stdout; errors (with tracebacks) on stderr.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
# Behind a reverse proxy, gunicorn itself trusts X-Forwarded-* only from these addresses; the app's
# ProxyFix (MATCHMAKER_PROXY_HOPS) rewrites the request from those headers.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# gunicorn's control socket sits at one fixed path per user: two sites on one host would fight over it.
control_socket_disable = True
