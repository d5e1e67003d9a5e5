"""The ``particles`` peer of ``bench_particle.py``, run in its own environment.

particles 0.4 requires NumPy < 2, so it cannot share the benchmark environment (NumPy 2.4, JAX).
``python3 tasks.py bench`` creates ``.venv-bench-particles`` from ``requirements-bench-particles.txt``
and ``bench_particle.py`` runs this script there, in a subprocess:

    python peer_particles.py Y.npy RHO SIG_X2 SIG_Y2 I N_RUNS

It builds the scalar linear-Gaussian model (x_1 ~ N(0, 1), x_t = rho x_{t-1} + N(0, sig_x^2),
y_t = x_t + N(0, sig_y^2)) as a ``particles`` state-space model, runs its bootstrap filter with
systematic resampling at every step (``ESSrmin = 1``), and prints one JSON line: the log-evidence
estimates of N_RUNS runs (for the agreement check) and the best time of one run (same harness as
every other benchmark). pedagogy_lib is not imported here.
"""
from __future__ import annotations

import json
import os
import sys
from importlib import metadata

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import best_time  # noqa: E402


def main(argv: list[str]) -> None:
    import particles
    from particles import distributions as dists
    from particles import state_space_models as ssm

    y = np.load(argv[0])
    rho, sig_x2, sig_y2 = (float(a) for a in argv[1:4])
    I, n_runs = int(argv[4]), int(argv[5])

    class ScalarLG(ssm.StateSpaceModel):
        default_params = {"rho": rho, "sig_x": np.sqrt(sig_x2), "sig_y": np.sqrt(sig_y2)}

        def PX0(self):
            return dists.Normal(loc=0.0, scale=1.0)

        def PX(self, t, xp):
            return dists.Normal(loc=self.rho * xp, scale=self.sig_x)

        def PY(self, t, xp, x):
            return dists.Normal(loc=x, scale=self.sig_y)

    fk = ssm.Bootstrap(ssm=ScalarLG(), data=y)

    def run_once():
        pf = particles.SMC(fk=fk, N=I, resampling="systematic", ESSrmin=1.0)
        pf.run()
        return pf.logLt

    log_Z = [float(run_once()) for _ in range(n_runs)]
    seconds = best_time(run_once, repeat=3)
    print(json.dumps({"log_Z": log_Z, "seconds": seconds, "particles": metadata.version("particles"),
                      "numpy": np.__version__}))


if __name__ == "__main__":
    main(sys.argv[1:])
