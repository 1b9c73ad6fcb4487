"""Tools for developers and benchmarks that are not part of the product: the data generator."""
