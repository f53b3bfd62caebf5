"""make_golden.py is the script that records this directory, not a test
module: pytest's --doctest-modules must not import it."""

collect_ignore = ["make_golden.py"]
