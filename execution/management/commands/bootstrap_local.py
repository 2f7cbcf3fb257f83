from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = (
        "Create a local admin user and API token if none exist, and print them with the URLs. "
        "For a developer machine: the password is kept in var/ so later runs can show it again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"]
        credentials_file = Path(settings.VAR_DIR) / "local-admin.json"
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        password = None
        if user is None:
            password = secrets.token_urlsafe(12)
            user = user_model.objects.create_superuser(username=username, password=password)
            credentials_file.parent.mkdir(parents=True, exist_ok=True)
            credentials_file.touch(mode=0o600)
            credentials_file.write_text(json.dumps({"username": username, "password": password}))
        elif credentials_file.exists():
            saved = json.loads(credentials_file.read_text())
            if saved.get("username") == username and user.check_password(saved.get("password", "")):
                password = saved["password"]
        token, _ = Token.objects.get_or_create(user=user)

        base = options["base_url"].rstrip("/")
        shown = password or f"(unchanged; reset with: python manage.py changepassword {username})"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    f"  Admin:      {base}/admin/   user {username}   password {shown}",
                    f"  API token:  {token.key}",
                    f"  Try:        curl -H 'Authorization: Token {token.key}' {base}/v1/plugins",
                    "",
                ]
            )
        )
