import os

os.environ.setdefault("MPLBACKEND", "Agg")
# One BLAS thread: the suite's matrices are small, and on two shared cores
# threaded SVDs of a few hundred rows were 5-10x slower than single-threaded.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")
