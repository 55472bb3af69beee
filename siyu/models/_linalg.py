"""Dense algebra on the small symmetric matrices of a fit (Hessians, covariances; k <= 64).

Done in C (``_core.sym_eigen``, Jacobi rotations) rather than LAPACK: numpy.linalg's
first call in a process pages in and starts the BLAS library, which took 0.02-0.5 s
after a large log had pushed it out of memory -- longer than the fit it follows.
Larger matrices go to numpy.linalg.
"""
from __future__ import annotations

import numpy as np

from siyu import _core

_MAX_K = 64


def eigh(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and unit eigenvectors (columns) of the symmetric part of a."""
    a = np.asarray(a, dtype=np.float64)
    s = 0.5 * (a + a.T)
    if 1 <= s.shape[0] <= _MAX_K:
        return _core.sym_eigen(s)
    return np.linalg.eigh(s)


def eigvalsh(a: np.ndarray) -> np.ndarray:
    """Eigenvalues (ascending) of the symmetric part of a."""
    return eigh(a)[0]


def inv_sym(a: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric matrix; numpy.linalg.LinAlgError when it is singular or not
    finite (as numpy.linalg.inv)."""
    a = np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise np.linalg.LinAlgError("the matrix holds NaN or inf")
    w, V = eigh(a)
    scale = np.abs(w).max() if w.size else 0.0
    if not (scale > 0) or np.any(np.abs(w) <= scale * 1e-300):
        raise np.linalg.LinAlgError("singular matrix")
    return (V / w[None, :]) @ V.T
