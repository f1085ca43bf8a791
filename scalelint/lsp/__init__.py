"""The language server (``scalelint-lsp``): diagnostics as you type, quick
fixes, fix-all, "disable for this line" and rule docs on hover. The editor
glue (scalelint.lsp.server) needs the ``lsp`` extra (pygls); the linter
(scalelint.lsp.linter) and the scheduler are plain Python."""
from __future__ import annotations

import sys

from scalelint.lsp.linter import DocumentLinter, Settings, finding_range, offset_range, trusts_local_rules

__all__ = ["DocumentLinter", "Settings", "finding_range", "main", "offset_range", "trusts_local_rules"]

USAGE = """\
usage: scalelint-lsp [--version] [--help]

The scalelint language server. It speaks the Language Server Protocol over
stdin/stdout: point your editor's LSP client at `scalelint-lsp` (see the
README for VS Code, Neovim, Helix and Emacs). Settings come from the client's
initializationOptions: select, ignore, unsafeFixes, configPath,
trustLocalRules, debounceMs, debounceMaxMs.
"""


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        from scalelint import __version__

        print(f"scalelint-lsp {__version__}")
        return
    if args in (["--help"], ["-h"]):
        print(USAGE, end="")
        return
    if args and args != ["--stdio"]:  # clients often pass --stdio; stdio is the only transport
        print(f"scalelint-lsp: unknown argument {args[0]!r}; see scalelint-lsp --help", file=sys.stderr)
        sys.exit(2)
    from scalelint.lsp.server import serve

    serve()
