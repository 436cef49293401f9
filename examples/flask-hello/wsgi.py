"""The example app: Flask under the buildpack's Gunicorn, tuned by WEB_CONCURRENCY."""
import os
import sys

from flask import Flask

application = Flask(__name__)


@application.route("/")
def index():
    return "Hello from AusNimbus Python: Python %s, %s Gunicorn workers\n" % (
        sys.version.split()[0],
        os.environ.get("WEB_CONCURRENCY", "?"),
    )
