"""`python manage.py install_dependencies [--config langgraph.json] [--dry-run]`: install what langgraph.json's
`dependencies` list into this environment, as `langgraph build` does for the official image (see
agentplatform.dependencies). deploy/Dockerfile runs it for the project it is built with.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from agentplatform.dependencies import InstallPlan, find_uv, install_plan
from agentplatform.langgraph_config import ConfigError, load_config


class Command(BaseCommand):
    help = "Install the packages and local packages that langgraph.json's `dependencies` list."
    # The checks import the graphs, which may need exactly what this command is about to install.
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("--config", default=settings.LANGGRAPH_CONFIG, help="langgraph.json (LANGGRAPH_CONFIG)")
        parser.add_argument("--dry-run", action="store_true", help="Print the commands without running them.")

    def handle(self, *args, **options):
        path = Path(options["config"])
        try:
            load_config(path)  # a refused or misspelt key stops here, named
            constraints = Path(settings.BASE_DIR) / "requirements.txt"
            plan = install_plan(path, json.loads(path.read_text()), uv=find_uv(), constraints=constraints)
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        for note in plan.notes:
            self.stderr.write(self.style.WARNING(note))
        if not plan.commands:
            self.stdout.write("Nothing to install: langgraph.json lists no packages.")
        for command in plan.commands:
            self.stdout.write(" ".join(command))
            if not options["dry_run"]:
                self._run(command, plan)

    def _run(self, command: list[str], plan: InstallPlan) -> None:
        finished = subprocess.run(command, cwd=plan.cwd, env={**os.environ, **plan.env}, check=False)
        if finished.returncode != 0:
            raise CommandError(f"{command[0]} exited with {finished.returncode}; see its output above.")
