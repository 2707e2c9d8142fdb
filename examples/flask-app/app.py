"""A small Flask app that Latchkey protects: the seeds' world, unchanged but
for where it learns who is calling.

Behind the reverse proxy of examples/nginx or examples/caddy, every request
that reaches the app has passed Latchkey's check, and the proxy tells the app
who it is in three headers it sets itself (a client's own are removed):
X-Latchkey-User-Id, X-Latchkey-Email, X-Latchkey-Session-Id. The app must
listen on loopback only, so that nobody reaches it without the proxy.

Without a proxy, `latchkey_user_required` below checks a bearer token by
asking Latchkey's GET /api/me.

    LATCHKEY_URL=http://127.0.0.1:3000 PORT=5000 python3 app.py
"""
import functools
import json
import os
import urllib.error
import urllib.request

from flask import Flask, abort, g, jsonify, request
from markupsafe import escape

app = Flask(__name__)
LATCHKEY_URL = os.environ.get("LATCHKEY_URL", "http://127.0.0.1:3000")


def proxy_user():
    """The user the proxy vouched for, or None (then the proxy is not in front)."""
    user_id = request.headers.get("X-Latchkey-User-Id")
    if not user_id:
        return None
    return {
        "id": user_id,
        "email": request.headers.get("X-Latchkey-Email"),
        "session_id": request.headers.get("X-Latchkey-Session-Id"),
    }


@app.get("/")
def home():
    user = proxy_user()
    if user is None:
        abort(401)
    return (
        "<!doctype html><meta charset=utf-8><title>Notes</title>"
        f"<h1 id=greeting>Hello, {escape(user['email'])}!</h1>"
        "<p><a href=/account>Your account</a></p>"
    )


@app.get("/notes")
def notes():
    """An API route: the user comes from the proxy's headers, nothing else."""
    user = proxy_user()
    if user is None:
        abort(401)
    return jsonify(owner=user["email"], notes=[])


# --- Without a proxy: a bearer token checked by Latchkey ---------------------

def latchkey_user_required(view):
    """Lets the request in only with a live Latchkey session: puts {user, session} of GET /api/me in g.latchkey."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        authorization = request.headers.get("Authorization", "")
        if not authorization.startswith("Bearer "):
            return jsonify(code="unauthenticated"), 401
        me = urllib.request.Request(f"{LATCHKEY_URL}/api/me", headers={"Authorization": authorization})
        try:
            with urllib.request.urlopen(me, timeout=5) as answer:
                g.latchkey = json.load(answer)
        except urllib.error.HTTPError as error:
            if error.code == 401:
                return jsonify(code="unauthenticated"), 401
            return jsonify(code="unavailable"), 503
        except (urllib.error.URLError, TimeoutError):
            return jsonify(code="unavailable"), 503
        return view(*args, **kwargs)
    return wrapper


@app.get("/token/notes")
@latchkey_user_required
def token_notes():
    return jsonify(owner=g.latchkey["user"]["email"], notes=[])


# --- For the tests of examples/: what the app received. Off unless asked. ----

if os.environ.get("EXAMPLE_DEBUG_ROUTES") == "1":
    @app.get("/debug/headers")
    def debug_headers():
        received = {k: v for k, v in request.headers.items() if k.lower().replace("_", "-").startswith("x-latchkey")}
        return jsonify(received=received, environ={k: v for k, v in request.environ.items() if k.startswith("HTTP_X_LATCHKEY")})


if __name__ == "__main__":
    # Loopback only: the proxy is the one way in.
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
