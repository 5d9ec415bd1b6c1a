"""Process runtime: a stage dies with its parent; thread caps restore the previous setting."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from geoloc.runtime import torch_threads

CHILD = """
import sys, time
from geoloc.runtime import die_with_parent
die_with_parent()
print("ready", flush=True)
time.sleep(600)
"""

PARENT = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdout=subprocess.PIPE, text=True)
assert child.stdout.readline().strip() == "ready"
print(child.pid, flush=True)
sys.stdin.read()  # block until killed
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead for our purpose
        return stat.read().split()[2] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux-only")
def test_a_stage_process_dies_when_its_parent_is_killed():
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    child_pid = int(parent.stdout.readline())
    assert _alive(child_pid)
    parent.kill()
    parent.wait()
    for _ in range(600):  # SIGTERM arrives at once; the loop only bounds a broken case
        if not _alive(child_pid):
            break
        time.sleep(0.05)
    else:
        os.kill(child_pid, 9)
        pytest.fail("the child outlived its killed parent")


def test_torch_threads_restores_the_previous_count():
    import torch

    before = torch.get_num_threads()
    with torch_threads(2):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == before
    with torch_threads(0):
        assert torch.get_num_threads() == before
