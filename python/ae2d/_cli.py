"""The `ae2d` console entry point: runs the command-line tool shipped in the wheel (ae2d/bin/ae2d),
the same program `scripts/build.sh` builds. Its bundled default model is ae2d/models/."""

import os
import sys


def main() -> None:
    exe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "ae2d")
    if not os.access(exe, os.X_OK):
        sys.stderr.write("ae2d: error: the command-line tool is missing from the package ({})\n".format(exe))
        sys.exit(1)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(exe, ["ae2d"] + sys.argv[1:])


if __name__ == "__main__":
    main()
