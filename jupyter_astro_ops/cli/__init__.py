"""``jupyter astro-ops ...``: the command line (one module per subcommand group)."""
