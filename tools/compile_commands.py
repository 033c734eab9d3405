#!/usr/bin/env python3
"""compile_commands.py "CC FLAGS" SRC...: print compile_commands.json for editors (clangd)."""
import json
import os
import shlex
import sys

cmd, srcs = shlex.split(sys.argv[1]), sys.argv[2:]
root = os.getcwd()
json.dump([{"directory": root, "file": s,
            "arguments": cmd + ["-c", s, "-o", os.path.join("build", s[:-2] + ".o")]}
           for s in srcs], sys.stdout, indent=1)
print()
