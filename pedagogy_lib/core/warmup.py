"""Compile (or load from the on-disk cache) every numba kernel once, on tiny inputs.

``python3 tasks.py test`` calls :func:`compile_all` before starting parallel test workers, so
the workers find a warm cache instead of compiling the same kernels twice.
"""
from __future__ import annotations

import importlib

#: Modules that define a ``warmup_kernels()`` function exercising their kernels.
KERNEL_MODULES: list[str] = ["core.checks", "hmm.inference", "lgssm.kalman", "smc.resampling", "smc.particle", "nn.network", "nn.rnn", "mixture.em",
                                  "diffusion.sampling", "assimilation.lorenz", "assimilation.ensemble", "assimilation.fourdvar",
                                  "graphical.tree", "samplers.targets", "samplers.mcmc", "harmonium.exact", "harmonium.gibbs"]


def compile_all() -> None:
    for name in KERNEL_MODULES:
        module = importlib.import_module(f"pedagogy_lib.{name}")
        module.warmup_kernels()


if __name__ == "__main__":
    compile_all()
