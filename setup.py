"""Build hook for the optional C speedups of the hot parsers (everything else is in pyproject.toml).

``pip install -e .`` (or a wheel build) compiles ``mimamori.parsers._speedups`` when a C compiler and
the Python headers are present; ``optional=True`` lets the install succeed without them, and the
parsers then run their pure-Python paths (``mimamori.parsers._native``). ``MIMAMORI_PURE=1`` forces the
pure paths even when the extension is built.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "mimamori.parsers._speedups",
            sources=["src/mimamori/parsers/_speedups.c"],
            depends=[  # included by _speedups.c
                "src/mimamori/parsers/_speedups_behaviours.c",
                "src/mimamori/parsers/_speedups_hot.c",
                "src/mimamori/parsers/_speedups_hot_flows.c",
                "src/mimamori/parsers/_speedups_hot_dns.c",
                "src/mimamori/parsers/_speedups_evtx_binxml.c",
                "src/mimamori/parsers/_speedups_evtx_json.c",
                "src/mimamori/parsers/_speedups_evtx_sysmon.c",
                "src/mimamori/parsers/_speedups_evtx_security.c",
            ],
            extra_compile_args=["-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        )
    ]
)
