"""Sphinx directives of the genolens docs, built from the package itself so that they cannot drift.

- ``.. genolens-namespace:: genolens.io``: a summary table of the module's ``__all__``, then each member
  (functions, classes with their public methods, constants).
- ``.. genolens-results::``: every class that a public function returns but no namespace exports
  (``AssociationResult``, ``Adapter``, ...), found by :func:`genolens_api.result_classes`.
- ``.. genolens-cli::``: every ``genolens`` command with its usage line, help text and options, read from the
  click command that typer builds (typer ships its own copy of click, which sphinx-click does not accept).
"""

from __future__ import annotations

import importlib
import inspect

from docutils import nodes
from docutils.statemachine import StringList
from genolens_api import result_classes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles


class NamespaceDirective(SphinxDirective):
    """A namespace's public members (its ``__all__``, or the names given as content) with a summary table."""

    required_arguments = 1
    has_content = True

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        module = importlib.import_module(name)
        members = list(self.content) or list(module.__all__)
        constants = [m for m in members if not callable(getattr(module, m))]
        lines = [f".. currentmodule:: {name}", "", ".. autosummary::", "   :nosignatures:", ""]
        lines += [f"   {member}" for member in members if member not in constants]
        for member in members:
            obj = getattr(module, member)
            if inspect.isclass(obj):
                lines += _autoclass(member)
            elif member not in constants:
                lines += ["", f".. autofunction:: {member}"]
            else:  # a constant: its type, and a mapping's keys (autodata would show the type's docstring)
                if isinstance(obj, dict):
                    text = f"A ``dict``, keys: {', '.join(f'``{key}``' for key in obj)}."
                else:
                    text = f"``{obj!r}``"
                lines += ["", f".. py:data:: {member}", "", f"   {text}"]
        return _parse(self, lines, f"<genolens-namespace {name}>")


class ResultsDirective(SphinxDirective):
    """The classes public functions return that no namespace exports, each under its own module's name."""

    def run(self) -> list[nodes.Node]:
        names = [f"{cls.__module__}.{cls.__qualname__}" for cls in result_classes()]
        lines = [".. currentmodule:: None", "", ".. autosummary::", "   :nosignatures:", ""]
        lines += [f"   ~{name}" for name in names]
        for name in names:
            lines += _autoclass(name)
        return _parse(self, lines, "<genolens-results>")


def _autoclass(name: str) -> list[str]:
    return ["", f".. autoclass:: {name}", "   :members:", "   :show-inheritance:"]


def _parse(directive: SphinxDirective, lines: list[str], source: str) -> list[nodes.Node]:
    container = nodes.section()
    nested_parse_with_titles(directive.state, StringList(lines, source=source), container)
    return container.children


def _click_group():  # noqa: ANN202 - typer's own click Group
    import typer.main

    import genolens.cli as cli

    for module in cli.COMMAND_MODULES:  # each registers its commands on ``cli.app`` when imported
        importlib.import_module(module)
    return typer.main.get_command(cli.app)


class CliDirective(SphinxDirective):
    """One section per ``genolens`` command: usage, help text, options (text nodes: help is not reST)."""

    def run(self) -> list[nodes.Node]:
        group = _click_group()
        root = group.make_context("genolens", [], resilient_parsing=True)
        out: list[nodes.Node] = [nodes.paragraph(text=group.help or "")]  # get_help would print typer's rich box
        for name in group.list_commands(root):
            command = group.get_command(root, name)
            if command is None or command.hidden:
                continue
            ctx = command.make_context(name, [], parent=root, resilient_parsing=True)
            section = nodes.section(ids=[f"command-{name}"], names=[f"genolens {name}"])
            section += nodes.title(text=f"genolens {name}")
            section += nodes.literal_block(text=command.get_usage(ctx))
            for paragraph in inspect.cleandoc(command.help or "").split("\n\n"):
                if paragraph.strip():
                    section += nodes.paragraph(text=" ".join(paragraph.split()))
            options = nodes.definition_list()
            for param in command.get_params(ctx):
                record = param.get_help_record(ctx)
                if record is None:
                    continue
                item = nodes.definition_list_item()
                item += nodes.term("", "", nodes.literal(text=record[0]))
                item += nodes.definition("", nodes.paragraph(text=record[1]))
                options += item
            section += options
            out.append(section)
        return out


def setup(app: Sphinx) -> dict[str, object]:
    """Register the directives."""
    app.add_directive("genolens-namespace", NamespaceDirective)
    app.add_directive("genolens-results", ResultsDirective)
    app.add_directive("genolens-cli", CliDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
