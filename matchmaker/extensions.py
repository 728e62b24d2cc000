"""Extensions, created unbound and bound to the app in create_app."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

babel = Babel()
login_manager = LoginManager()
csrf = CSRFProtect()
migrate = Migrate()
# Rate limits (matchmaker/auth/limits.py; any blueprint may add its own with @limiter.limit).
# Storage: RATELIMIT_STORAGE_URI, memory by default, the Redis of REDIS_URL when that is set.
limiter = Limiter(key_func=get_remote_address, key_prefix="matchmaker")
