#!/usr/bin/env python
"""Contributors' entry point; the same as the installed ``safestats`` command."""

from safestats.cli import main

if __name__ == "__main__":
    main()
