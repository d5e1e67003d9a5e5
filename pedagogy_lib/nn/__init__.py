"""Neural networks with hand-written backpropagation (book Sections 5.1.3 and 5.2.1).

* :mod:`~pedagogy_lib.nn.network`: parameter trees, activations, layers and ``Sequential`` models
  (Eqs. 5.15-5.17), and the finite-difference gradient check every hand-written gradient is tested with.
* :mod:`~pedagogy_lib.nn.losses`: the losses, sample averages of surprisals (Eq. 5.1) with their gradients.
* :mod:`~pedagogy_lib.nn.optim`: the functional optimizers, SGD with momentum and Adam, and shuffled
  minibatches.
* :mod:`~pedagogy_lib.nn.rnn`: the Elman recurrent network and backpropagation through time (the
  backward loop with its NumPy twin).
* :mod:`~pedagogy_lib.nn.infomax`: InfoMax ICA for a square unmixing matrix.
* :mod:`~pedagogy_lib.nn.mi_clustering`: clustering with a softmax classifier by maximizing mutual
  information, with a few labels or none (the semi-supervised clustering of Section 5.2.1).
* :mod:`~pedagogy_lib.nn.kernels`: the numba kernels (the BPTT backward loop, the Adam update).

No automatic differentiation: every gradient is written out and checked against finite differences.
The public names of the modules are attributes of the package (``from pedagogy_lib import nn;
nn.Dense``, ``nn.squared_error``, ``nn.Adam``), each module imported on first use.
"""
from pedagogy_lib.core.lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, ["network", "losses", "optim", "rnn", "infomax", "mi_clustering",
                                                  "kernels"],
                                       module_only=("warmup_kernels",))
