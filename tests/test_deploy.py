"""The files in deploy/ start what exists: commands the app has, the gunicorn
settings in the repository, timers with their services, Caddy in front of the
port gunicorn binds."""

import configparser
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
CODE = "/srv/storefront"


def unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(DEPLOY / name)
    return parser


def commands(app) -> set[str]:
    return set(app.cli.list_commands(None)) | {"db"}


@pytest.mark.parametrize("name", sorted(p.name for p in DEPLOY.glob("*.service")))
def test_each_service_runs_a_command_the_app_has(app, name):
    service = unit(name)["Service"]
    assert service["User"] == "storefront"
    assert service["WorkingDirectory"] == CODE
    text = (DEPLOY / name).read_text()
    assert "Environment=STOREFRONT_INSTANCE_PATH=/var/lib/storefront" in text
    assert "/var/lib/storefront" in service["ReadWritePaths"]
    for line in (service["ExecStart"], service.get("ExecStartPost", "")):
        words = shlex.split(line.replace("$(", "").replace("%%", "%"))
        programs = [w for w in words if w.startswith(f"{CODE}/.venv/bin/")]
        for program, *args in [words[words.index(p) :] for p in programs]:
            tool = program.rsplit("/", 1)[1]
            assert tool in ("gunicorn", "flask"), line
            if tool == "flask":
                assert args[:2] == ["--app", "storefront"] and args[2] in commands(app)
            else:
                assert args[:2] == ["--config", "gunicorn.conf.py"]
                assert (ROOT / "gunicorn.conf.py").exists() and args[2] == "wsgi:app"


@pytest.mark.parametrize("name", sorted(p.name for p in DEPLOY.glob("*.timer")))
def test_each_timer_has_its_service(name):
    assert (DEPLOY / name.replace(".timer", ".service")).exists()
    assert unit(name)["Timer"]["OnCalendar"]


def test_caddy_proxies_to_where_gunicorn_listens():
    caddy = (DEPLOY / "Caddyfile").read_text()
    assert re.search(r"reverse_proxy 127\.0\.0\.1:8000\b", caddy)
    settings = (ROOT / "gunicorn.conf.py").read_text()
    assert "'PORT', '8000'" in settings and "127.0.0.1" in settings
    assert "PROXY_COUNT=1" in (DEPLOY / "storefront.service").read_text()


def test_the_readme_sends_operators_to_deploy():
    readme = (ROOT / "README.md").read_text()
    for path in DEPLOY.iterdir():
        assert path.name in readme or path.suffix in (".service", ".timer")
    assert "cp deploy/*.service deploy/*.timer /etc/systemd/system/" in readme
