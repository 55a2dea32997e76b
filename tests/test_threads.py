"""PyTorch's CPU threads fitted to the cores other processes leave free
(``facerec.levers.threads``): the rule, the reading of ``/proc/stat``, and a detector beside
real busy processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from facerec.levers.threads import Reading, ThreadFit, read, threads_for


def test_threads_are_the_cores_left_free_within_the_ceiling():
    assert threads_for(cores=2, others=0.02, ceiling=2) == 2
    assert threads_for(cores=2, others=0.4, ceiling=2) == 2
    assert threads_for(cores=2, others=0.99, ceiling=2) == 1
    assert threads_for(cores=2, others=2.0, ceiling=2) == 1
    assert threads_for(cores=8, others=2.2, ceiling=8) == 6
    assert threads_for(cores=16, others=0.0, ceiling=4) == 4


def test_a_fit_follows_other_processes_as_they_come_and_go():
    fit = ThreadFit(frozenset({0, 1}), ceiling=2, first=Reading(busy=0.0, own=0.0, wall=0.0))
    assert not fit.due(0.1) and fit.due(0.5)
    # the cores were busy 1.0 s in 0.5 s, all of it this process's own: nobody else
    assert fit.update(Reading(busy=1.0, own=1.0, wall=0.5)) == 2
    # another process took a core: the cores' busy time grows faster than our own
    assert fit.update(Reading(busy=2.0, own=1.5, wall=1.0)) == 1
    # and it stopped
    assert fit.update(Reading(busy=2.5, own=2.0, wall=1.5)) == 2


def test_proc_stat_is_read_for_the_chosen_cores_only(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  300 0 150 2000 20 10 10 4 0 0\n"
                    "cpu0 100 0 50 1000 10 5 5 2 0 0\n"
                    "cpu1 200 0 100 1000 10 5 5 2 0 0\n"
                    "intr 12345 6 7\nctxt 999\n")
    tick = os.sysconf("SC_CLK_TCK")
    # user, nice, system, irq, softirq and steal count; idle and iowait do not
    assert read(frozenset({0}), str(stat)).busy == pytest.approx(162 / tick)
    assert read(frozenset({0, 1}), str(stat)).busy == pytest.approx((162 + 312) / tick)
    assert read(frozenset({0}), str(tmp_path / "missing")) is None


FIT_BESIDE_BUSY_CORES = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    import torch
    from facerec import FaceAnalyzer, load_image
    from facerec.levers.threads import enable_fitting
    enable_fitting()  # as the commands and the service do (facerec.levers)
    os.sched_setaffinity(0, {int(c) for c in sys.argv[2].split(",")})
    torch.set_num_threads(2)
    detector = FaceAnalyzer("cpu").detector
    photo = load_image(sys.argv[1])
    started = time.perf_counter()
    while time.perf_counter() - started < 2.0:
        detector.detect([photo])
    print(torch.get_num_threads())
""")


@pytest.mark.skipif(not Path("/proc/stat").is_file() or not hasattr(os, "sched_setaffinity"),
                    reason="reads Linux's /proc/stat and pins processes to cores")
@pytest.mark.slow
def test_detection_drops_to_one_thread_beside_busy_processes(samples, model_paths):
    cores = sorted(os.sched_getaffinity(0))[:2]
    if len(cores) < 2:
        pytest.skip("needs two cores")
    spin = "import os, sys; os.sched_setaffinity(0, {int(sys.argv[1])})\nwhile True: pass"
    busy = [subprocess.Popen([sys.executable, "-c", spin, str(core)]) for core in cores]
    try:
        done = subprocess.run([sys.executable, "-c", FIT_BESIDE_BUSY_CORES,
                               str(samples / "obama.jpg"), ",".join(map(str, cores))],
                              capture_output=True, text=True, timeout=300)
    finally:
        for process in busy:
            process.kill()
            process.wait()
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "1"
