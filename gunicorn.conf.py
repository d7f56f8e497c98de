"""gunicorn settings, sized for a 1 vCPU / 1 GB server; raise WORKERS on bigger hosts.

Two processes with four threads each keep one slow request (an image upload, a
sign-in's password hash) from stalling the shop, in about 120 MB of memory.
"""

import os

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("THREADS", "4"))
timeout = 30
graceful_timeout = 10
accesslog = "-"
# No runtime control socket: its default path in $HOME would be shared by every
# shop the same user runs.
control_socket_disable = True
