"""The cabinet: the families' and staff's web, server-rendered, in Russian.

::

    from publish.web import WebOptions, create_web_app
    app = create_web_app(WebOptions(store_url="sqlite:///store.db", session_secret="…"))

See docs/cabinet.md for the pages, roles and security model.
"""

from publish.web.app import create_web_app
from publish.web.options import ThrottlePolicy, WebOptions

__all__ = ["ThrottlePolicy", "WebOptions", "create_web_app"]
