"""Private numba kernels over plain numpy arrays. No pandas, pyarrow or package imports here."""
