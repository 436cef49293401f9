# Fallback Gunicorn configuration from the ausnimbus/python buildpack. It is used only when the app
# brings no config of its own (GUNICORN_CONFIG). Every value can be changed through the environment.
#
# It must load on Python 2.7 with Gunicorn 19 as well as on current Python and Gunicorn: no
# f-strings, no type hints. Gunicorn ignores names it does not know, so the helpers below (and a
# setting an old release lacks) are harmless.
# Settings reference: https://docs.gunicorn.org/en/stable/settings.html
import os
import sys


def _env(name, default):
    """The stripped value of env var NAME, or DEFAULT when it is unset or blank."""
    value = os.environ.get(name, "").strip()
    return value or default


def _int_env(name, default, highest=None):
    """Env var NAME as an int from 1 to HIGHEST (if given), or DEFAULT when unset or invalid."""
    try:
        value = int(_env(name, ""))
    except ValueError:
        return default
    if value < 1 or (highest is not None and value > highest):
        return default
    return value


_debug = _env("DEBUG", "").lower() in ("true", "1")

# Listen on every interface at $PORT; the platform routes traffic to 8080 by default.
bind = "0.0.0.0:" + str(_int_env("PORT", 8080, 65535))

# The most workers taken from WEB_CONCURRENCY. Gunicorn's docs advise 2-4 workers per core
# (https://docs.gunicorn.org/en/stable/settings.html#workers): 1000 allows that on 250 cores, while a slip
# like 1e9 or 100000 (a process each, each with the whole app) would exhaust memory or process limits.
_WORKERS_MAX = 1000


def _workers():
    """WEB_CONCURRENCY if it is a whole number from 1 to _WORKERS_MAX (blanks around it are fine, as
    for int()), 2 when unset or empty; anything else gives 2 too, with one line on stderr saying why.
    The exec.d program web-concurrency applies the same rule before Gunicorn starts (Gunicorn's own
    int() of it exits on 'abc' before this file runs). Values int() takes but that make no sense (0,
    5000, +5) get here only when exec.d did not run: an entrypoint that bypasses the CNB launcher."""
    raw = os.environ.get("WEB_CONCURRENCY", "")
    if not raw:
        return 2
    value = raw.strip(" \t\n")
    # Only ASCII digits (int() would also take "+5", "1_000" and other scripts' digits), and at most 4
    # without leading zeros, so int() never sees a huge number (Python 3.11+ refuses over 4300 digits).
    digits = value.lstrip("0")
    if value and not value.strip("0123456789") and 0 < len(digits) <= 4 and int(digits) <= _WORKERS_MAX:
        return int(digits)
    # At most 40 characters, unprintable ones as ?, so the message stays one line.
    shown = "".join(c if " " <= c <= "~" else "?" for c in raw[:40]) + ("..." if len(raw) > 40 else "")
    sys.stderr.write("WEB_CONCURRENCY='%s' is not a whole number from 1 to %d; using 2\n" % (shown, _WORKERS_MAX))
    return 2


# Worker processes. The exec.d program web-concurrency sets WEB_CONCURRENCY from the container's
# memory at every start (2 to 10) unless the user set it; a valid user value wins.
workers = _workers()

# The app runs behind the platform's load balancer, so trust X-Forwarded-* from any address.
forwarded_allow_ips = _env("FORWARDED_ALLOW_IPS", "*")

# Access log to stdout and error log to stderr, where the container runtime collects them.
accesslog = "-"
errorlog = "-"

# DEBUG=TRUE/true/1 (any case): restart workers when code changes, and log at debug level.
reload = _debug
loglevel = "debug" if _debug else "info"

# Workers' heartbeat files go to memory rather than to a possibly slow or overlay disk.
if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
    worker_tmp_dir = "/dev/shm"

# On SIGTERM, let in-flight requests finish for up to 25 s: inside Kubernetes' default
# 30 s grace period before SIGKILL.
graceful_timeout = 25


def _control_socket_usable():
    """Whether Gunicorn (25.1+) can create its control socket (for `gunicornc`) where it puts it by
    default: $XDG_RUNTIME_DIR/gunicorn.ctl, else $HOME/.gunicorn/gunicorn.ctl, creating the folder."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isdir(runtime):
        folder = runtime
    else:
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            # No HOME and no passwd entry (an arbitrary uid): Gunicorn would make ./~/.gunicorn in the app.
            return False
        folder = os.path.join(home, ".gunicorn")
    while not os.path.lexists(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            return False
        folder = parent
    return os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK)


# Where that place is not writable (a read-only root filesystem, a HOME the app's user does not own),
# Gunicorn logs an error at every start and worker fork: turn the socket off instead of failing there.
if not _control_socket_usable():
    control_socket_disable = True
