"""Build script for the C extension ``siyu._core``.

Extra compiler/linker flags can be passed through the environment, e.g. the
sanitizer build in ``.ci/run`` sets ``SIYU_CFLAGS`` and ``SIYU_LDFLAGS``.
"""
import glob
import os
import shlex

import numpy as np
from setuptools import Extension, setup

extra_compile = ["-std=c11", "-O3", "-Wall", "-Wextra", "-fno-strict-aliasing"]
extra_compile += shlex.split(os.environ.get("SIYU_CFLAGS", ""))
extra_link = ["-lm", "-lpthread"] + shlex.split(os.environ.get("SIYU_LDFLAGS", ""))

core = Extension(
    "siyu._core",
    sources=sorted(glob.glob(os.path.join("src", "*.c"))),
    include_dirs=["src", np.get_include()],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_23_API_VERSION")],
    extra_compile_args=extra_compile,
    extra_link_args=extra_link,
)

setup(ext_modules=[core])
