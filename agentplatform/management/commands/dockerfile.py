"""`python manage.py dockerfile [--config langgraph.json] [output]`: the Dockerfile of a project, as
`langgraph dockerfile` writes the official one (agentplatform.dockerfile): deploy/Dockerfile, built from the
project's folder, with langgraph.json's python_version, pip_config_file, dockerfile_lines and keep_pkg_tools
applied. Without `output` (or with "-") it is printed.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from agentplatform.dockerfile import render_dockerfile
from agentplatform.langgraph_config import ConfigError, load_config


class Command(BaseCommand):
    help = "Write the Dockerfile of the project of langgraph.json (deploy/Dockerfile with its build keys applied)."
    # The checks import the graphs, whose dependencies the image is about to install.
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("output", nargs="?", default="-", help='Where to write it ("-": print it).')
        parser.add_argument("--config", default=settings.LANGGRAPH_CONFIG, help="langgraph.json (LANGGRAPH_CONFIG)")

    def handle(self, *args, **options):
        path = Path(options["config"])
        template = Path(settings.BASE_DIR) / "deploy" / "Dockerfile"
        try:
            load_config(path)  # a refused or misspelt key stops here, named
            rendered = render_dockerfile(template.read_text(), json.loads(path.read_text()), config_name=str(path))
        except ConfigError as exc:
            raise CommandError(str(exc)) from None
        for note in rendered.notes:
            self.stderr.write(self.style.WARNING(note))
        if options["output"] == "-":
            self.stdout.write(rendered.text, ending="")
            return
        Path(options["output"]).write_text(rendered.text)
        self.stderr.write(f"Wrote {options['output']}; build it from {path.resolve().parent}.")
