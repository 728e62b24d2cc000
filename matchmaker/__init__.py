"""The matchmaker web application: public–private co-creation (官民共創)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from matchmaker.args import IdConverter, SiteRequest
from matchmaker.config import Config, from_environment, instance_defaults, secret_key_for

REPO_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(REPO_ROOT / "templates"),
        static_folder=str(REPO_ROOT / "static"),
        instance_path=str(REPO_ROOT / "instance"),
    )
    app.request_class = SiteRequest
    app.url_map.converters["int"] = IdConverter  # /challenges/99999999999 is a 404, not a database error
    load_config(app, config)
    register_extensions(app)
    register_security(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_template_helpers(app)
    register_commands(app)
    start_background_work(app)
    return app


def load_config(app: Flask, config: Mapping[str, Any] | None) -> None:
    app.config.from_object(Config)
    app.config.update(instance_defaults(app.instance_path))
    app.config.update(from_environment())
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key_for(app.instance_path)
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = app.config.get("REDIS_URL") or "memory://"


def register_extensions(app: Flask) -> None:
    from matchmaker import auth as auth_module
    from matchmaker.extensions import babel, csrf, limiter, login_manager, migrate
    from matchmaker.i18n import compile_catalogs, select_locale, select_timezone
    from matchmaker.jobs import JobRunner
    from matchmaker.transactions import register as register_transactions
    from models import db

    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # JSON answers keep Japanese readable (UTF-8)
    db.init_app(app)
    register_transactions(app)
    migrate.init_app(app, db, directory=str(REPO_ROOT / "migrations"))
    csrf.init_app(app)
    compile_catalogs()
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    login_manager.init_app(app)
    limiter.init_app(app)
    auth_module.configure_login(login_manager)
    app.extensions["jobs"] = JobRunner(app, mode=app.config["JOB_RUNNER"])


def register_security(app: Flask) -> None:
    from matchmaker.security import register

    register(app)


def register_blueprints(app: Flask) -> None:
    from matchmaker.admin.views import bp as admin_bp
    from matchmaker.api import register as register_api
    from matchmaker.auth.views import bp as auth_bp
    from matchmaker.company.views import bp as company_bp
    from matchmaker.coordinator import bp as coordinator_bp
    from matchmaker.matches import bp as matches_bp
    from matchmaker.municipality.views import bp as municipality_bp
    from matchmaker.public.views import bp as public_bp
    from matchmaker.records import bp as records_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp, url_prefix="/auth")
    app.register_blueprint(municipality_bp, url_prefix="/municipality")
    app.register_blueprint(company_bp, url_prefix="/company")
    app.register_blueprint(matches_bp, url_prefix="/matches")
    app.register_blueprint(coordinator_bp, url_prefix="/coordinator")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    register_api(app)  # /api/v1 and its OpenAPI document
    app.register_blueprint(records_bp, url_prefix="/records")


def register_error_handlers(app: Flask) -> None:
    from matchmaker.errors import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from matchmaker.templating import register

    register(app)


def register_commands(app: Flask) -> None:
    from matchmaker.commands import register

    register(app)


def start_background_work(app: Flask) -> None:
    """In the embedded default (thread runner), once the site serves its first request: embed
    whatever is missing or stale (work whose job died with an earlier process is found this way)
    and start the daily schedule (matchmaker/schedule.py). With Redis, `flask worker` does both.

    Not at start-up: CLI commands (migrations, imports) build the app too and must not race a job.
    """
    if app.config["JOB_RUNNER"] != "thread":
        return
    embed = app.config.get("EMBED_ON_START", True)
    daily = app.config["DAILY_JOBS"]
    if not (embed or daily):
        return
    started = False

    @app.before_request
    def _start_once() -> None:
        nonlocal started
        if started:
            return
        started = True
        if embed:
            from matchmaker.services.vectors import sync_all_vectors

            app.extensions["jobs"].submit("sync-all", sync_all_vectors)
        if daily:
            from matchmaker.schedule import start_daily_schedule

            start_daily_schedule(app)
