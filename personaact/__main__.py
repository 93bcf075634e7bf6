"""`python -m personaact` runs the console command."""

from personaact.cli import main

main()
