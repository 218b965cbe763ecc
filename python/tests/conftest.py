"""Shared fixtures: the package under test from this checkout, the gradscope binaries
(``$GRADSCOPE_BIN``, default ``target/debug`` of the repository, built by ``cargo test``
or ``cargo build``) and MNIST (``data/raw`` or ``$GRADSCOPE_DATA_MIRROR``)."""

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.dirname(HERE)
REPO = os.path.dirname(PYTHON_DIR)
# Test this checkout's package, whatever an installed copy points to.
sys.path.insert(0, PYTHON_DIR)

#: Set (as CI does) to make missing binaries or data a failure instead of a skip.
STRICT = os.environ.get("GRADSCOPE_TEST_STRICT") == "1"


def _missing(what: str):
    if STRICT:
        pytest.fail(f"{what} (GRADSCOPE_TEST_STRICT=1 makes this a failure)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def bin_dir():
    d = os.environ.get("GRADSCOPE_BIN", os.path.join(REPO, "target", "debug"))
    d = d if os.path.isabs(d) else os.path.join(REPO, d)
    for tool in ("vmf-kappa", "dump-grads", "train"):
        if not os.path.isfile(os.path.join(d, tool)):
            _missing(f"{tool} not found in {d}: build it with `cargo build` (or set GRADSCOPE_BIN)")
    return d


@pytest.fixture(scope="session")
def tool(bin_dir):
    """``tool(name, *args, input=None)``: runs a gradscope binary, returns the completed
    process; a non-zero exit fails the test with the tool's stderr."""

    def run(name, *args, input=None, check=True):
        p = subprocess.run(
            [os.path.join(bin_dir, name), *map(str, args)],
            input=input,
            capture_output=True,
            cwd=REPO,
        )
        if check and p.returncode != 0:
            pytest.fail(f"{name} {' '.join(map(str, args))} exited {p.returncode}: {p.stderr.decode(errors='replace')}")
        return p

    return run


@pytest.fixture(scope="session")
def mnist_dir():
    dirs = [os.path.join(REPO, "data", "raw")]
    if os.environ.get("GRADSCOPE_DATA_MIRROR"):
        dirs.append(os.environ["GRADSCOPE_DATA_MIRROR"])
    dirs.append(os.path.join(REPO, "..", "shared", "data"))
    for d in dirs:
        if os.path.isfile(os.path.join(d, "mnist", "train-images-idx3-ubyte.gz")):
            return os.path.abspath(d)
    _missing(f"MNIST not found in {', '.join(dirs)}: run `make data` or set GRADSCOPE_DATA_MIRROR")
