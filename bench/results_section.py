#!/usr/bin/env python3
"""Puts a benchmark's section (stdin) at the end of a results file
(bench/RESULTS.md), removing an earlier section whose heading starts with the
same text; every other section stays.

  results_section.py RESULTS HEADING_START < SECTION
  e.g. results_section.py bench/RESULTS.md "Restore from the repository, quiet (" < section.md
"""
import re
import sys

path, start = sys.argv[1:3]
section = sys.stdin.read().rstrip("\n")
try:
    with open(path) as f:
        text = f.read()
except FileNotFoundError:
    text = "# Benchmark results\n"
text = re.sub(r"\n## " + re.escape(start) + r".*?(?=\n## |\Z)", "", text, flags=re.S)
with open(path, "w") as f:
    f.write(text.rstrip("\n") + "\n\n" + section + "\n")
