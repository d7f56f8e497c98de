"""gunicorn settings: ``gunicorn --config gunicorn.conf.py wsgi:app``.

Sized from the CPUs this process may use (``taskset`` and container limits
count), so the same file fits a 1 vCPU / 1 GB VPS and a bigger host:

- ``workers = CPUs + 1``: a page is CPU work in Python, and one process runs
  Python on one CPU at a time, so about one process per CPU; the extra one
  keeps a CPU busy while another process waits (on the database, a disk write,
  a garbage collection). On 1 vCPU: 2 processes. Each takes 60–90 MB (the app,
  its database connections, up to ``SHOP_GRID_CACHE`` rendered shop grids of
  about 20 KB and ``SHOP_PAGE_CACHE`` whole pages of about 30 KB), so 2 fit in
  1 GB beside PostgreSQL or SQLite and Caddy; on a 4-CPU / 4 GB host, 5 do.
- ``threads = 4`` per process: a request that waits (an image upload, a sign-in's
  deliberately slow password hash, a database lock) must not hold up the shop,
  and threads cost little memory. More threads would not add throughput: the
  Python in one process runs one thread at a time.

``WORKERS``, ``THREADS``, ``PORT`` or ``BIND`` in the environment override this.
"""

import os

cpus = len(os.sched_getaffinity(0))

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WORKERS", cpus + 1))
worker_class = "gthread"
threads = int(os.environ.get("THREADS", "4"))
timeout = 30
graceful_timeout = 10
# The workers' heartbeat files in memory: a slow disk must not look like a hung
# worker.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = "-"
# One JSON object per request, order links' tokens cut out (storefront/logs.py).
# Naming it makes the master process import the app too: about 45 MB more.
logger_class = "storefront.logs.AccessLogger"
access_log_format = (
    '{"time": "%(t)s", "remote": "%(h)s", "request": "%(r)s", "status": %(s)s, '
    '"bytes": "%(b)s", "ms": %(M)s, "referrer": "%(f)s", "agent": "%(a)s"}'
)
# No runtime control socket: its default path in $HOME would be shared by every
# shop the same user runs.
control_socket_disable = True
