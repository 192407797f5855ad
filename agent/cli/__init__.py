"""The `wmagent` command line. Each area registers its commands from its own module."""

from __future__ import annotations

import sqlite3
import sys

import typer
from typer._click.exceptions import ClickException, UsageError

from agent.cli import chat, eval, llm, run, scenarios, worldmodel
from agent.llm.base import LLMError

app = typer.Typer(
    name="wmagent",
    help="A hybrid agent: an LLM decomposes goals, a JEPA world model plans the actions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (scenarios, worldmodel, llm, run, chat, eval):
    module.register(app)


class CommandError(Exception):
    """Bad input a person can fix: printed as one line, exit status 1."""


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; bad arguments and bad input end in one actionable line on stderr."""
    args = sys.argv[1:] if argv is None else argv
    try:
        result = app(args=args, prog_name="wmagent", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except UsageError as e:
        cmd = e.ctx.command_path if e.ctx else "wmagent"
        print(f"{cmd}: error: {e.format_message()} (see '{cmd} --help')", file=sys.stderr)
        return 2
    except ClickException as e:
        print(f"wmagent: error: {e.format_message()}", file=sys.stderr)
        return 1
    except OSError as e:
        if e.errno is None:  # one of ours, with its message
            print(f"wmagent: error: {e.args[0] if e.args else e}", file=sys.stderr)
        elif isinstance(e, (FileExistsError, NotADirectoryError)):
            print(f"wmagent: error: {e.filename} is a file where a folder is needed; pick "
                  "another path (--out, WMAGENT_HOME)", file=sys.stderr)
        else:  # from the system: a read-only or full disk, ...
            where = f" {e.filename}" if e.filename else ""
            print(f"wmagent: error: cannot use{where}: {e.strerror or e}; pick a path you can "
                  "write (--out, WMAGENT_HOME)", file=sys.stderr)
        return 1
    except (ValueError, KeyError, LLMError) as e:
        msg = e.args[0] if e.args else repr(e)
        print(f"wmagent: error: {msg}", file=sys.stderr)
        return 1
    except sqlite3.Error as e:
        print(f"wmagent: error: the SQLite store failed ({e}); if it is read-only or on a full "
              "disk, set WMAGENT_HOME (or --out) to a writable folder", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("wmagent: interrupted", file=sys.stderr)
        return 130

