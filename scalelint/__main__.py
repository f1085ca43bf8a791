from scalelint.cli import entry

entry()
