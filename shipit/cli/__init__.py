"""The command line: one module per command (parse, build the objects, call the domain, render); `app` holds the
Typer app and maps errors to exit codes. Heavy libraries are imported inside the commands."""
