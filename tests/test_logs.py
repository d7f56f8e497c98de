"""Logs are JSON lines and never carry an order's secret link."""

import json
import logging
import runpy
import sys
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from gunicorn.config import Config

from storefront.logs import AccessLogger, JsonFormatter

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cr3tT0k3n"


def test_app_records_are_json_with_the_request_and_no_token(app):
    formatter = JsonFormatter()
    with app.test_request_context(f"/o/261101-00001/{SECRET}", method="POST"):
        try:
            raise ValueError(f"bad link /o/261101-00001/{SECRET}")
        except ValueError:
            record = logging.getLogger("storefront").makeRecord(
                "storefront", logging.ERROR, __file__, 1, "failed: %s", ("x",), None
            )
            record.exc_info = sys.exc_info()
        line = formatter.format(record)
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["message"] == "failed: x"
    assert entry["method"] == "POST"
    assert entry["path"] == "/o/261101-00001/[token]"
    assert "ValueError" in entry["error"] and SECRET not in line


def test_the_access_log_is_json_without_order_tokens():
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["logger_class"] == "storefront.logs.AccessLogger"
    logger = AccessLogger(Config())
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/o/261101-00001/{SECRET}?x=1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": f"/o/261101-00001/{SECRET}",
        "QUERY_STRING": "x=1",
        "REMOTE_ADDR": "10.0.0.1",
        "HTTP_REFERER": f"https://shop.example.com/o/261101-00001/{SECRET}/share",
        "HTTP_USER_AGENT": 'Phone "quoted" \\ agent',
    }
    response = SimpleNamespace(status="200 OK", sent=1234, headers=[])
    request = SimpleNamespace(headers=[("Referer", environ["HTTP_REFERER"])])
    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=12))
    line = settings["access_log_format"] % logger.atoms_wrapper_class(atoms)
    entry = json.loads(line)
    assert entry["request"] == "GET /o/261101-00001/[token]?x=1 HTTP/1.1"
    assert entry["referrer"].endswith("/o/261101-00001/[token]/share")
    assert entry["status"] == 200 and entry["ms"] == 12
    assert entry["agent"] == 'Phone "quoted" \\ agent'
    assert SECRET not in line


def test_no_password_or_statement_value_reaches_the_logs(app, client, operator, caplog):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from storefront.extensions import db

    caplog.set_level(logging.DEBUG)
    client.post("/login", data={"login": "op@example.com", "password": SECRET})
    with app.app_context():
        try:
            db.session.execute(
                text("SELECT * FROM no_such_table WHERE x = :value"), {"value": SECRET}
            )
        except DBAPIError as error:
            failed = str(error)
            app.logger.error("query failed: %s", error)
    assert SECRET not in failed  # hide_parameters
    assert caplog.records and SECRET not in caplog.text


def test_gunicorn_own_lines_are_json(tmp_path):
    config = Config()
    config.set("errorlog", str(tmp_path / "error.log"))
    logger = AccessLogger(config)
    logger.info("Booting worker with pid: %s", 4242)
    logger.critical("WORKER TIMEOUT (pid:%s)", 4243)
    first, second = map(json.loads, (tmp_path / "error.log").read_text().splitlines())
    assert first["message"] == "Booting worker with pid: 4242"
    assert first["level"] == "INFO" and first["logger"] == "gunicorn.error"
    assert second["level"] == "CRITICAL" and isinstance(second["pid"], int)
