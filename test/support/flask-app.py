# A Flask app's user table as the seeds' readers have it (madblog's User
# model: username, email, password_hash, name, member_since, confirmed),
# created with Flask-SQLAlchemy and filled with hashes made by the real
# libraries: werkzeug's generate_password_hash (pbkdf2 sha256/sha1/sha512),
# the old werkzeug form without an iteration count (checked with werkzeug's
# own check_password_hash), werkzeug 3's scrypt (hashlib.scrypt exactly as
# werkzeug 3 calls it), bcrypt from python3-bcrypt ($2b$, and the same hash
# as PHP's $2y$), passlib's pbkdf2_sha256 and django_pbkdf2_sha256.
#
# Usage: /usr/bin/python3 flask-app.py DATABASE_FILE [ITERATIONS]
# Prints the users as JSON lines: {"email", "password", "format", "confirmed"}.
import hashlib
import json
import secrets
import sys
from datetime import datetime

import bcrypt
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from passlib.hash import django_pbkdf2_sha256, pbkdf2_sha256
from werkzeug.security import check_password_hash, gen_salt, generate_password_hash

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + sys.argv[1]
app.config["SQLALCHEMY_TRACK_MODIFICATIONS"] = False
db = SQLAlchemy(app)


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(64), index=True, unique=True)
    email = db.Column(db.String(120), index=True, unique=True)
    password_hash = db.Column(db.String(256))
    name = db.Column(db.String(64))
    member_since = db.Column(db.DateTime(), default=datetime.utcnow)
    confirmed = db.Column(db.Boolean, default=False)


def werkzeug3_scrypt(password, n=2**15, r=8, p=1):
    # werkzeug 3.0 security._hash_internal, method "scrypt": the salt's UTF-8 bytes, maxmem 132*n*r*p, 64 bytes.
    salt = gen_salt(16)
    h = hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=132 * n * r * p).hex()
    return f"scrypt:{n}:{r}:{p}${salt}${h}"


def werkzeug_without_count(password):
    # What check_password_hash reads as pbkdf2:sha256 at its default count (260,000 in werkzeug 2.x).
    salt = gen_salt(16)
    h = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 260000).hex()
    stored = f"pbkdf2:sha256${salt}${h}"
    assert check_password_hash(stored, password)
    return stored


def bcrypt_hash(password, prefix):
    stored = bcrypt.hashpw(password.encode(), bcrypt.gensalt(10)).decode()
    return prefix + stored[4:]


iterations = sys.argv[2] if len(sys.argv) > 2 else None
run = secrets.token_hex(3)
makers = [
    ("werkzeug-pbkdf2-sha256", lambda pw: generate_password_hash(pw) if iterations is None else generate_password_hash(pw, f"pbkdf2:sha256:{iterations}")),
    ("werkzeug-pbkdf2-sha1", lambda pw: generate_password_hash(pw, "pbkdf2:sha1:50000")),
    ("werkzeug-pbkdf2-sha512", lambda pw: generate_password_hash(pw, "pbkdf2:sha512:50000")),
    ("werkzeug-pbkdf2-sha256", werkzeug_without_count),
    ("werkzeug-scrypt", werkzeug3_scrypt),
    ("bcrypt", lambda pw: bcrypt_hash(pw, "$2b$")),
    ("bcrypt", lambda pw: bcrypt_hash(pw, "$2y$")),
    ("passlib-pbkdf2-sha256", pbkdf2_sha256.hash),
    ("django-pbkdf2-sha256", django_pbkdf2_sha256.hash),
]
if iterations is not None:
    makers = makers[:1]
# Passwords the policy would refuse today (too short, too long, common) and ones NFKC would change.
passwords = ["abc", "x" * 200, "password", "ﬁancé Ｐａｓｓ ①", 'comma, "quote"', "Sturdy-flask-pw-1", "ĳssel-Ⅻ-ﬀ", "Ünïcödé-π", "tab\tin it"]
with app.app_context():
    db.create_all()
    users = []
    for i, (fmt, make) in enumerate(makers):
        password = passwords[i % len(passwords)]
        email = f"Flask.User{i}-{run}@Example.COM"
        # One name sqlite3 -csv must quote: a comma, a quote and a line break.
        name = f'Smith, "Jo"\nline {i}' if i == 0 else f"User {i}"
        confirmed = i != 2
        db.session.add(User(username=f"user{i}-{run}", email=email, password_hash=make(password), name=name,
                            member_since=datetime(2021, 3, 4, 5, 6, 7, 891011), confirmed=confirmed))
        users.append({"email": email, "password": password, "format": fmt, "confirmed": confirmed, "name": name})
    if iterations is None:
        # An account without a password (signed up with a provider): it can only reset.
        email = f"no.password-{run}@example.com"
        db.session.add(User(username=f"nopw-{run}", email=email, password_hash=None, name=None, confirmed=True))
        users.append({"email": email, "password": None, "format": "none (reset only)", "confirmed": True, "name": None})
    db.session.commit()
    for user in users:
        print(json.dumps(user))
