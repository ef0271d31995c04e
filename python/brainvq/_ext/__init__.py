"""Home of the gopy-generated extension; the build copies its files here.

After a build this folder holds ``_brainvq.<EXT_SUFFIX>`` (the Go shared library with the
CPython glue), ``pybind.py`` (gopy's wrappers for the Go package ``pybind``) and ``go.py`` (gopy's
Go-type wrappers). Nothing here is meant to be imported directly: use :mod:`brainvq`.
"""
